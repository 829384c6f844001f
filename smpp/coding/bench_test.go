package coding

import (
	"strings"
	"testing"
)

var benchText = strings.Repeat("Su pago fue recibido, gracias. ", 5) // 155 septets

func BenchmarkEncodeGSM7(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		AppendGSM7(buf[:0], benchText, -1)
	}
}

func BenchmarkPack(b *testing.B) {
	sept, _ := AppendGSM7(nil, benchText, -1)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		Pack(buf[:0], sept, 0)
	}
}

func BenchmarkChoose(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Choose(benchText)
	}
}

func BenchmarkSplitUDH(b *testing.B) {
	long := strings.Repeat(benchText, 3)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Split(long, SplitOptions{Ref: 7}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseReceipt(b *testing.B) {
	r := "id:0A1B2C3D sub:001 dlvrd:001 submit date:2611221030 done date:2611221031 stat:DELIVRD err:000 text:hello"
	b.ReportAllocs()
	for b.Loop() {
		ParseReceipt(r, nil)
	}
}
