package keys

// Object metadata and tag names: the part of the bucket's contract that is not a key. S3 stores a
// metadata name as x-amz-meta-{name}, lower case, and hands it back without the prefix. The values
// outlive any deploy, so a name never changes. Neither binary spells one as a literal.
const (
	// MetaSourceETag names the bytes an output was made from, unquoted: on a final original and
	// on its thumbnails the staged upload's ETag (thumbnails written before they were put beside
	// the original, in one round trip, name the final original's ETag). The processor writes it
	// and reads it (to tell a replayed event from new bytes); the API keeps it when it moves an
	// original to the trash and back.
	MetaSourceETag = "source-etag"
	// MetaRemoved, on a final original, lists the parts a phone appended that the processor cut
	// off and did not store (imagepolicy.JoinRemoved); absent when there were none. The processor
	// writes it; the API reads it (imagepolicy.SplitRemoved) to tell the professor.
	MetaRemoved = "removed"
	// MetaReason, on a quarantine copy, is why the upload was rejected: an imagepolicy.Reason. The
	// processor writes it; the API reads it and shows the reason's Message.
	MetaReason = "reason"
	// MetaDetail, on a quarantine copy, says more about the rejection for operators: ASCII, at most
	// MaxDetailLen bytes. The processor writes it; the API does not show it.
	MetaDetail   = "detail"
	MaxDetailLen = 256

	// MetaDeletedBy, on an original in the trash, is the user who deleted it; MetaWasRepresentative
	// ("true") says it was the scenario's representative image then. The API writes both when it
	// moves an original to the trash and takes them off again when it restores it; the processor
	// does not read them.
	MetaDeletedBy         = "deleted-by"
	MetaWasRepresentative = "was-representative"
)

// TagAttempts is the object tag that counts the processor's sweep attempts on a staged upload.
// The processor writes and reads it; the quarantine copy does not carry it. The count lives on the
// object itself (S3 is the only store): bytes staged again through the upload URL, or by the API's
// restore, are a new object without tags, and so start again from zero. The API never reads it
// (its role may not).
const TagAttempts = "medicpx-attempts"
