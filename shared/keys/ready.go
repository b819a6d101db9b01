package keys

import (
	"time"

	"medicpx/shared/imagepolicy"
)

// ListedThumbnail is a thumbnail as a listing shows it.
type ListedThumbnail struct {
	Key      string
	Modified time.Time
}

// ThumbnailSet is what a listing shows of one upload's thumbnails: the newest of each size (of a
// .jpg and a .png for one size, which exist together only briefly while a replaced original is
// reprocessed, the newer one is current).
type ThumbnailSet map[int]ListedThumbnail

// Add records a thumbnail key (k.Kind == Thumbnail).
func (s ThumbnailSet) Add(k Key, modified time.Time) {
	if cur, ok := s[k.Size]; !ok || modified.After(cur.Modified) {
		s[k.Size] = ListedThumbnail{Key: k.String(), Modified: modified}
	}
}

// Ready is the one definition of a processed upload, shared by the API (what students may see)
// and the processor's sweep (what still needs work): every thumbnail size exists and none is older
// than the original. The processor writes thumbnails after the stripped original, so bytes
// uploaded again over the same key are not ready until their own thumbnails exist.
func (s ThumbnailSet) Ready(original time.Time) bool {
	for _, size := range imagepolicy.ThumbnailSizes {
		t, ok := s[size]
		if !ok || t.Modified.Before(original) {
			return false
		}
	}
	return true
}
