package migrate

import (
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_more.sql": {Data: []byte("B")},
		"m/0001_init.sql": {Data: []byte("A")},
		"m/README":        {Data: []byte("ignored")},
	}
	ms, err := Load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 1 || ms[0].Name != "init" || ms[1].SQL != "B" {
		t.Fatalf("Load = %+v", ms)
	}
	p, err := Pending(ms, 1)
	if err != nil || len(p) != 1 || p[0].Version != 2 {
		t.Fatalf("Pending = %+v, %v", p, err)
	}
	if _, err := Pending(ms, 3); err == nil {
		t.Fatal("a newer database schema was accepted")
	}
	for name, fs := range map[string]fstest.MapFS{
		"gap":     {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"badname": {"m/init.sql": {}},
		"dup":     {"m/0001_a.sql": {}, "m/001_b.sql": {}},
	} {
		if _, err := Load(fs, "m"); err == nil {
			t.Errorf("%s: Load accepted %v", name, fs)
		}
	}
}
