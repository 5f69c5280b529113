package phi

import "testing"

func TestAttachmentTypes(t *testing.T) {
	t.Parallel()
	s, err := New(Config{AttachmentTypes: []string{"application/pdf", "image/*", ".CSV", "dicom"}})
	if err != nil {
		t.Fatal(err)
	}
	dicom := make([]byte, 200)
	copy(dicom[128:], "DICM")
	cases := []struct {
		part AttachmentPart
		hit  bool
	}{
		{AttachmentPart{ContentType: "application/pdf", Filename: "results.bin"}, true},
		{AttachmentPart{ContentType: "Image/PNG", Filename: "x"}, true},
		{AttachmentPart{ContentType: "application/octet-stream", Filename: "PATIENTS.csv"}, true},
		{AttachmentPart{ContentType: "application/dicom"}, true},
		{AttachmentPart{ContentType: "application/octet-stream", Filename: "scan.DCM"}, true},
		{AttachmentPart{ContentType: "application/octet-stream", Filename: "scan", Head: dicom}, true},
		{AttachmentPart{ContentType: "text/plain", Filename: "notes.txt"}, false},
		{AttachmentPart{ContentType: "application/pdfx", Filename: "csv"}, false},
		{AttachmentPart{ContentType: "application/octet-stream", Head: dicom[:131]}, false},
	}
	for _, c := range cases {
		f := s.ScanAttachments([]AttachmentPart{c.part})
		if (len(f) == 1) != c.hit {
			t.Errorf("%+v: findings %v, want hit=%v", c.part, f, c.hit)
		}
	}
	var all []AttachmentPart
	for _, c := range cases {
		all = append(all, c.part)
	}
	if f := s.ScanAttachments(all); len(f) != 1 || f[0].Count != 6 || f[0].Location != InAttachment || f[0].Confidence != High {
		t.Fatalf("all parts: %v", f)
	}
}
