package chat

import (
	"mime"
	"path"
	"strings"
)

// extensions are the file name extensions accepted for a sniffed media
// type; the first is the one given to a file whose name says otherwise.
var extensions = map[string][]string{
	"image/jpeg":      {".jpg", ".jpeg", ".jfif"},
	"image/png":       {".png"},
	"image/gif":       {".gif"},
	"image/webp":      {".webp"},
	"image/bmp":       {".bmp"},
	"application/pdf": {".pdf"},
	"text/plain":      {".txt", ".log", ".csv"},
	"application/zip": {".zip"},
	"audio/mpeg":      {".mp3"},
	"video/mp4":       {".mp4"},
}

// nameForType makes a file's extension agree with its sniffed media
// type: what is sniffed as plain text is not stored as page.html or
// img.svg (a browser would run its script), nor a PDF as invoice.exe.
// A name whose extension does not fit gets the type's own instead.
func nameForType(name, mediaType string) string {
	base, _, _ := mime.ParseMediaType(mediaType)
	exts := extensions[base]
	if exts == nil {
		exts, _ = mime.ExtensionsByType(base)
	}
	if len(exts) == 0 {
		exts = []string{"." + strings.TrimPrefix(path.Base(base), "x-")}
	}
	ext := strings.ToLower(path.Ext(name))
	for _, e := range exts {
		if ext == e {
			return name
		}
	}
	stem := strings.TrimSuffix(name, path.Ext(name))
	if stem == "" {
		stem = "file"
	}
	return SanitizeFileName(stem + exts[0])
}
