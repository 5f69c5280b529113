package httpserver

import (
	"encoding/json"
	"net/http"
)

// ErrorBody is the JSON shape of every error the HTTP edge returns. Message
// is written for a person and never carries PHI or internal causes; Field
// names the input that was wrong, when one was.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

// WriteJSON writes v as the JSON response body with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// WriteError writes an ErrorBody.
func WriteError(w http.ResponseWriter, r *http.Request, status int, code, message, field string) {
	var b ErrorBody
	b.Error.Code, b.Error.Message, b.Error.Field = code, message, field
	b.RequestID = Info(r.Context()).ID
	if b.RequestID == "" {
		b.RequestID = w.Header().Get("X-Request-ID")
	}
	WriteJSON(w, status, b)
}
