package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
)

// decode reads a JSON body into v strictly: unknown fields, trailing data,
// and wrong types are refused with an error naming the field.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &auth.InputError{Field: "", Msg: "send the body as application/json"}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &auth.InputError{Msg: "the body holds more than one JSON value"}
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &auth.InputError{Msg: "the body is larger than the server accepts"}
	case errors.As(err, &syn):
		return &auth.InputError{Msg: fmt.Sprintf("the body is not valid JSON (at byte %d)", syn.Offset)}
	case errors.As(err, &typ):
		return &auth.InputError{Field: typ.Field, Msg: fmt.Sprintf("must be %s", typ.Type.String())}
	case errors.Is(err, io.EOF):
		return &auth.InputError{Msg: "the body is empty; send a JSON object"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return &auth.InputError{Field: name, Msg: "unknown field"}
	default:
		return &auth.InputError{Msg: "the body could not be read as JSON"}
	}
}

// fail maps a domain error to a status and JSON error. Unexpected errors are
// logged with the request id and answered with a generic message.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var in *auth.InputError
	var thr *auth.ThrottledError
	var fes message.FieldErrors
	var fe *message.FieldError
	switch {
	case errors.As(err, &fes) && len(fes) > 0:
		writeFieldErrors(w, r, fes)
	case errors.As(err, &fe):
		writeFieldErrors(w, r, message.FieldErrors{fe})
	case errors.Is(err, outbox.ErrIdempotencyMismatch):
		httpserver.WriteError(w, r, http.StatusUnprocessableEntity, "idempotency_mismatch", err.Error(), "Idempotency-Key")
	case errors.As(err, &in):
		httpserver.WriteError(w, r, http.StatusBadRequest, "invalid_request", in.Msg, in.Field)
	case errors.As(err, &thr):
		w.Header().Set("Retry-After", strconv.Itoa(int(thr.RetryAfter.Seconds())+1))
		httpserver.WriteError(w, r, http.StatusTooManyRequests, "throttled", "too many attempts; try again later", "")
	case errors.Is(err, store.ErrNotFound):
		httpserver.WriteError(w, r, http.StatusNotFound, "not_found", "not found", "")
	case errors.Is(err, store.ErrConflict):
		httpserver.WriteError(w, r, http.StatusConflict, "conflict", "this conflicts with an existing record", "")
	case errors.Is(err, auth.ErrForbidden):
		httpserver.WriteError(w, r, http.StatusForbidden, "forbidden", "your role does not allow this", "")
	case errors.Is(err, auth.ErrReauthRequired):
		httpserver.WriteError(w, r, http.StatusUnauthorized, "reauth_required", "confirm your password and second factor first (POST /api/v1/session/reauth)", "")
	case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrSessionExpired), errors.Is(err, auth.ErrDisabled):
		httpserver.WriteError(w, r, http.StatusUnauthorized, "unauthenticated", "credentials are missing, invalid or expired", "")
	case errors.Is(err, auth.ErrInvalidCode):
		httpserver.WriteError(w, r, http.StatusBadRequest, "invalid_code", "that code is not valid", "code")
	default:
		s.deps.Log.Error("api request failed", "request_id", httpserver.Info(r.Context()).ID, "route", r.Pattern, "err", err)
		httpserver.WriteError(w, r, http.StatusInternalServerError, "internal", "internal server error", "")
	}
}

// writeFieldErrors answers 400 naming the first field, with every problem
// listed so a client can fix them at once. Messages never carry values.
func writeFieldErrors(w http.ResponseWriter, r *http.Request, fes message.FieldErrors) {
	var b struct {
		httpserver.ErrorBody
		Errors message.FieldErrors `json:"errors"`
	}
	b.Error.Code, b.Error.Message, b.Error.Field = "invalid_request", fes[0].Msg, fes[0].Field
	b.RequestID = httpserver.Info(r.Context()).ID
	b.Errors = fes
	httpserver.WriteJSON(w, http.StatusBadRequest, b)
}

func (s *Server) ok(w http.ResponseWriter, status int, v any) {
	if status == 0 {
		status = http.StatusOK
	}
	httpserver.WriteJSON(w, status, v)
}
