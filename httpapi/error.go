package httpapi

import (
	"errors"
	"net/http"

	"github.com/rida-build/rida"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[rida.ErrorCode]int{
	rida.CodeInvalid:       http.StatusBadRequest,
	rida.CodeUnauthorized:  http.StatusUnauthorized,
	rida.CodeForbidden:     http.StatusForbidden,
	rida.CodeNotFound:      http.StatusNotFound,
	rida.CodeConflict:      http.StatusConflict,
	rida.CodeTooLarge:      http.StatusRequestEntityTooLarge,
	rida.CodeUnprocessable: http.StatusUnprocessableEntity,
	rida.CodeRateLimited:   http.StatusTooManyRequests,
	rida.CodeUnavailable:   http.StatusServiceUnavailable,
	rida.CodeInternal:      http.StatusInternalServerError,
}

// codeOf is statusOf reversed, for the client; statuses without a code of
// their own (405) read as invalid requests.
func codeOf(status int) rida.ErrorCode {
	for code, s := range statusOf {
		if s == status {
			return code
		}
	}
	if status >= 400 && status < 500 {
		return rida.CodeInvalid
	}
	return rida.CodeInternal
}

// errorBody is MBS's error JSON.
type errorBody struct {
	Status  int    `json:"status"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

// statusError carries an HTTP status that has no application code (405).
type statusError struct {
	status  int
	message string
}

func (e *statusError) Error() string { return e.message }

// errorStatus returns the HTTP status and client message for err.
func errorStatus(err error) (int, string) {
	var se *statusError
	if errors.As(err, &se) {
		return se.status, se.message
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, "The request body is larger than the limit of " + itoa(mbe.Limit) + " bytes."
	}
	return statusOf[rida.ErrorCodeOf(err)], rida.ErrorMessageOf(err)
}
