package metastrip

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"testing"
)

// BenchmarkStrip measures Strip on JPEG: the fixture (metadata-heavy, small) and a camera-sized
// file (about 1.5 MB of noisy scan data behind a camera EXIF block), where the time goes into
// finding EOI in the scan data.
func BenchmarkStrip(b *testing.B) {
	b.Run("fixture", func(b *testing.B) { benchStrip(b, readFixture(b, fixtureJPEG)) })
	b.Run("photo-1.5MB", func(b *testing.B) {
		m := image.NewRGBA(image.Rect(0, 0, 1600, 1200))
		r := rand.New(rand.NewPCG(1, 2))
		for i := range m.Pix {
			m.Pix[i] = uint8(r.IntN(256))
		}
		var enc bytes.Buffer
		if err := jpeg.Encode(&enc, m, &jpeg.Options{Quality: 90}); err != nil {
			b.Fatal(err)
		}
		p := enc.Bytes()
		exif := jpegSegmentBytes(0xE1, append([]byte("Exif\x00\x00"), cameraEXIF(binary.LittleEndian, 6)...))
		benchStrip(b, append(append(append([]byte(nil), p[:2]...), exif...), p[2:]...))
	})
}

func benchStrip(b *testing.B, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Strip(data, MIMEJPEG); err != nil {
			b.Fatal(err)
		}
	}
}
