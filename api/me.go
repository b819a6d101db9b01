package api

import (
	"net/http"

	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
)

// Roles as /patient-images/me names them: the API decides staff or not (claims.staff), never a
// role name, so the page is told that decision and nothing it would have to interpret again.
const (
	roleStaff  = "staff"  // may upload, caption, order, pin, delete and restore
	roleReader = "reader" // may read (the student view)
)

// meResponse is GET /patient-images/me: who the token names, what the API lets them do, and the
// upload rules, so that the pages decide nothing from a copy of them (or from the token itself).
type meResponse struct {
	Subject   string       `json:"subject"`
	Role      string       `json:"role"`
	CanUpload bool         `json:"can_upload"`
	Policy    uploadPolicy `json:"policy"`
}

type uploadPolicy struct {
	Types             []policyType `json:"types"`
	MaxBytes          int64        `json:"max_bytes"`
	HEICMessage       string       `json:"heic_message"`
	HEICExts          []string     `json:"heic_exts"`
	HEICTypes         []string     `json:"heic_types"`
	UnsupportedMsg    string       `json:"unsupported_message"`
	ScenarioIDPattern string       `json:"scenario_id_pattern"`
	MaxFilenameBytes  int          `json:"max_filename_bytes"`
	MaxCaptionChars   int          `json:"max_caption_chars"`
}

type policyType struct {
	MIME string   `json:"mime"`
	Ext  string   `json:"ext"`
	Exts []string `json:"exts"`
	// Aliases are other types a browser may give such a file (image/heif for a .heic).
	Aliases []string `json:"aliases,omitempty"`
}

// currentPolicy is built from the rules the API applies, never from a copy of them.
func currentPolicy() uploadPolicy {
	p := uploadPolicy{
		MaxBytes:          imagepolicy.MaxBytes,
		HEICMessage:       msgHEIC,
		HEICExts:          imagepolicy.HEICExts,
		HEICTypes:         imagepolicy.HEICTypes,
		UnsupportedMsg:    msgUnsupported,
		ScenarioIDPattern: keys.ScenarioPattern,
		MaxFilenameBytes:  imagepolicy.MaxFilenameLen,
		MaxCaptionChars:   maxCaptionRunes,
	}
	for _, t := range imagepolicy.Types() {
		p.Types = append(p.Types, policyType{MIME: t.MIME, Ext: t.Ext, Exts: t.Exts, Aliases: t.Aliases})
	}
	return p
}

// me answers any valid token: the page asks it after sign-in, and whenever the token changes, to
// choose the staff or the student view and to check files before sending them.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	role := roleReader
	if p.IsStaff() {
		role = roleStaff
	}
	writeJSON(w, http.StatusOK, meResponse{Subject: p.Subject, Role: role, CanUpload: p.IsStaff(), Policy: currentPolicy()})
	return nil
}
