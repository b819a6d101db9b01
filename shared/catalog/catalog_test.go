package catalog

import "testing"

// TestRenameWinsOverTheUploadNote: a name staff gave an image before the processor folded the
// upload's note in is kept; the note still gives the image its place in upload order.
func TestRenameWinsOverTheUploadNote(t *testing.T) {
	c := &Catalog{}
	c.Rename("a", "새 이름.jpg")
	c.SetNote("a", "staff only")
	if !c.AddNote("a", Note{Name: "홍길동_800101-1234567.jpg", Stamp: 7}) {
		t.Fatal("the stamp was not taken")
	}
	if e := c.Entry("a"); e.OriginalFilename != "새 이름.jpg" || e.Stamp != 7 || e.Note != "staff only" {
		t.Fatalf("entry %+v", e)
	}
	c.AddNote("b", Note{Name: "b.jpg", Stamp: 8})
	c.Rename("b", "b2.jpg")
	if e := c.Entry("b"); e.OriginalFilename != "b2.jpg" {
		t.Fatalf("rename after the fold: %+v", e)
	}
	if !c.Forget("a") || c.Entry("a").Note != "" {
		t.Fatal("forget keeps the note")
	}
}
