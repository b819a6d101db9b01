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
// .jpg and a .png for one size, which exist together only briefly while a replacement with the
// other kind of transparency is promoted, the newer one is current).
type ThumbnailSet map[int]ListedThumbnail

// Add records a thumbnail key (k.Kind == Thumbnail).
func (s ThumbnailSet) Add(k Key, modified time.Time) {
	if cur, ok := s[k.Size]; !ok || modified.After(cur.Modified) {
		s[k.Size] = ListedThumbnail{Key: k.String(), Modified: modified}
	}
}

// Ready is the one definition of a processed upload, shared by the API (what students may see)
// and the processor's sweep: a final original with every thumbnail size. No clock is involved:
// only the processor writes the final original and its thumbnails (side by side), with checked
// bytes, so an original with thumbnails is always a checked one. (New bytes sent through a
// replayed upload URL land in staging, never here.)
func (s ThumbnailSet) Ready() bool {
	for _, size := range imagepolicy.ThumbnailSizes {
		if _, ok := s[size]; !ok {
			return false
		}
	}
	return true
}
