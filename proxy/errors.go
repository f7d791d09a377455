package proxy

import (
	"errors"

	"github.com/jackc/pgproto3/v2"

	"github.com/pgmask/pgmask/rewriter"
)

// SQLSTATE codes the proxy itself answers with (PostgreSQL docs, Appendix A).
const (
	codeProtocolViolation    = "08P01"
	codeConnectionFailure    = "08006"
	codeInvalidAuthorization = "28000"
	codeInvalidPassword      = "28P01"
	codeAdminShutdown        = "57P01"
	codeTooManyConnections   = "53300"
	codeFeatureNotSupported  = "0A000"
	codeIdleSessionTimeout   = "57P05"
	codeInsufficientPriv     = rewriter.CodeInsufficientPrivilege
)

// sessionError is an error the client should see as a FATAL ErrorResponse before its
// connection is closed.
type sessionError struct {
	code, msg, hint string
}

func (e *sessionError) Error() string { return e.msg }

func fatalf(code, msg, hint string) error { return &sessionError{code: code, msg: msg, hint: hint} }

// errorResponse builds an ErrorResponse with both severity fields set, as PostgreSQL 9.6+
// sends them.
func errorResponse(severity, code, msg, hint string) *pgproto3.ErrorResponse {
	return &pgproto3.ErrorResponse{
		Severity:            severity,
		SeverityUnlocalized: severity,
		Code:                code,
		Message:             msg,
		Hint:                hint,
	}
}

// fatalResponse turns any session-ending error into the FATAL message the client gets.
func fatalResponse(err error) *pgproto3.ErrorResponse {
	var se *sessionError
	if errors.As(err, &se) {
		return errorResponse("FATAL", se.code, se.msg, se.hint)
	}
	var pe *protocolError
	if errors.As(err, &pe) {
		return errorResponse("FATAL", codeProtocolViolation, pe.Error(), "")
	}
	return errorResponse("FATAL", codeConnectionFailure, "pgmask: "+err.Error(), "")
}

// denialResponse is what a client sees for a statement the rewriter refused.
func denialResponse(d *rewriter.Denial) *pgproto3.ErrorResponse {
	return errorResponse("ERROR", d.Code, d.Message, d.Hint)
}
