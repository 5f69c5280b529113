package access

// Data-level limits: rules finer than "may call this endpoint".

// Masked is what a PHI field shows to a principal without phi:read.
const Masked = "•••"

// MaskPHI returns value, or Masked when perms lacks phi:read. Domain code
// calls it for every field marked PHI before the value leaves the package.
func MaskPHI(perms Set, value string) string {
	if perms.Has(PHIRead) {
		return value
	}
	if value == "" {
		return ""
	}
	return Masked
}

// CanReadMessage says whether a principal may see a message's content: its
// sender may (while holding messages:send, so an API key scoped to reports
// does not read its owner's mail), and so may holders of messages:read_all
// (HIPAA minimum necessary: a compliance officer sees delivery records, not
// content).
func CanReadMessage(perms Set, principalUserID, senderUserID string) bool {
	if perms.Has(MessagesReadAll) {
		return true
	}
	return perms.Has(MessagesSend) && principalUserID != "" && principalUserID == senderUserID
}

// SmallCellFloor is the default minimum group size reported to principals
// without phi:read; smaller counts are shown as "fewer than" the floor so a
// report cannot single out a patient.
const SmallCellFloor = 11

// SuppressSmall returns n, or -1 meaning "fewer than floor", for principals
// without phi:read.
func SuppressSmall(perms Set, n, floor int) int {
	if perms.Has(PHIRead) || n == 0 || n >= floor {
		return n
	}
	return -1
}
