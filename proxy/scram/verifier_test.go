package scram

import (
	"bytes"
	"strings"
	"testing"
)

// postgresVerifiers were produced by PostgreSQL 15.18 itself, in a
// SQL_ASCII cluster (so that any bytes reach it unchanged), with
//
//	SET password_encryption = 'scram-sha-256';
//	CREATE ROLE r PASSWORD E'<the password as \x escapes>';
//	SELECT rolpassword FROM pg_authid WHERE rolname = 'r';
//
// Each salt is PostgreSQL's random one; NewVerifier must derive the same
// keys from it.
var postgresVerifiers = []struct {
	name, password, verifier string
}{
	{"an ASCII password", "secret", "SCRAM-SHA-256$4096:pGOXVDh5eMJ6dIMqlQLaQA==$ZFxqXZRDijTw8zbLd8J308DNXeVs1D+FapAlffEXrPk=:3+UVPVaziVRJlg9xMXo/UtBPcPKRDRPOd1ysUNLBHYU="},
	{"the RFC 7677 password", "pencil", "SCRAM-SHA-256$4096:QuCrCMVJWnEWdgPhgO25YQ==$szRdG3he6JlDDChbc9zAN+5iH1MpcLnBxmaKt4oLNWU=:4f/6R99ONCR7qNqXFDbLfJ74e76LoBpVAH9c/stlvFo="},
	{"a precomposed non-ASCII password", "p\u00e4ssw\u00f6rd", "SCRAM-SHA-256$4096:PCiYkicyinG3CWggrrqYtA==$FfpX835kiEb9QmzU00iukDGBE7Ewzn8dLzv7JyzPyQ8=:lo7l6Cgf4nZZ8IFeaAkTjQ6v3OyhiIufSScLgis9NBU="},
	{"a decomposed non-ASCII password", "pa\u0308sswo\u0308rd", "SCRAM-SHA-256$4096:aF666qq0jYZVRj6ZjrIKnA==$RsqUOcyBasy1pakBRCUhXx5bqQAu16rNLHzGiLFBCTw=://RIvKpJQJAQCRNgBeVRaZNnCQ51m/sSFuEikJ/fMD0="},
	{"a compatibility character normalized by NFKC", "\u2168", "SCRAM-SHA-256$4096:MwrZjeuqfyUi66E2qysuYg==$IBXv57LNRfLths87SFpAYX9J9pXAHg2pmda5B9sRRbY=:qjzUkovi6L38Ep4WT3r6kdoe2H0GWXcQPubZ8w+BrhE="},
	{"a soft hyphen mapped to nothing", "I\u00adX", "SCRAM-SHA-256$4096:5quodPzFT5LJFAH2JSRdxQ==$C62ejB3HH7VPCmGXn0QxI+Trf1CEmrsJV+2xNHG2pi8=:z7hNbjziUJd97RJ0vxh6hD0YWXxKW+sFS6VDgtODX1c="},
	{"a no-break space mapped to space", "a\u00a0b", "SCRAM-SHA-256$4096:RZyv9u0yc2yj4pXEHcTEZA==$YQMdblpg9juNgtf2eSkv5S92yUuy1aiXBER0sZy21MQ=:wWBAB7sfNKW1TYH+R+/LKRviqfAjjfNgykQZbwRLoXA="},
	{"a right-to-left string ending in a digit, used raw", "\u0627\u0031", "SCRAM-SHA-256$4096:68RavfjGc2TGGw0r4dUkXw==$f2ITK9C0ZM0VMjlURn4xCt+Pjmxmq6EyPR5udfrLZ0s=:EUZ3C7Tzn2Ze1N3gPiKAOd2DSzkJOJ35A3HQmIhXGlM="},
	{"a right-to-left string", "\u0627\u0628", "SCRAM-SHA-256$4096:05PFMPZM0LKd/wnDrsMk5Q==$xcrIPnpvu1x9XumMPIZ1D03upUicmux0mjx7yNC9u4o=:9uzTXZWHOI6y/3sLvn6ZyY+H1MxLq9pqOexS4kQj0+Q="},
	{"a private-use character, used raw", "\ue000x", "SCRAM-SHA-256$4096:RhwvGv33cOI6nMiR8+MeTA==$hBIE3EqataWJcqaAqH5jhVyfjcu6mQW73SMir3nFlAU=:a/+Kgs1yOKME33tP1g2IrJn/lN1f/0iltAvOe2u0doo="},
	{"a character unassigned in Unicode 3.2, used raw", "\U0001F600", "SCRAM-SHA-256$4096:ebMinewv1xzxSOYonbCOhA==$cxIAYvSnAezPfFKHIYkptE+HwkUa0FARD6oSdLuiiwU=:kV4J9caeOz/vUqxRZ/bFLqyqXyj9uOAZ4Oo/YQWTZoY="},
	{"a password mapped to nothing, used raw", "\u00ad", "SCRAM-SHA-256$4096:mNXGUcR7htijmfOSBm9ADw==$TJZdFlYPuuZSnkY0OoWVKKzItEJ5cJEGtLFFDtw3L2Y=:OcAxj3Uw2+41YxcJYyez4BK1bQl/Bkk+vsEUby2mnFc="},
	{"an ASCII password with a control character, used as is", "a\tb", "SCRAM-SHA-256$4096:R28uDbYh7vF9LtIk3rwgtQ==$B1RNXqG428LP92eXRm+WpVDorrVuxCIKrxot3WdNC/Q=:LpAE3wmldNOh4TrLu2LpntNIM1/kGMK8aSMWOnn70JM="},
	{"a non-ASCII password with a control character, used raw", "\u00e4\tb", "SCRAM-SHA-256$4096:wCzv7LvmcHLdBXeffntY+Q==$xi7VpfRHLJo0ETHZ9rWazJAg+2cN9WbMVIzzW4uQKuM=:i/aOgBhsIkcljGBXL9PLyYCr55e8ChWAmEzBQk4UzYo="},
	{"invalid UTF-8, used raw", "\xff\xfe", "SCRAM-SHA-256$4096:E9hrpXoc4nOrOl9zt+zjIw==$0rApx3AHFzdfBQARSwURuW6CTd+Rvs9j+73MymvEeXU=:qtH5X56gtM7+I43i211d8GoI4/SNV+MrjyAviRp/7iY="},
	{"a zero-width space mapped to space", "\u200bx", "SCRAM-SHA-256$4096:oS0nXu7jvZSpe0S7MDatPA==$T1krEiubT/HKtSwIF6xeunVS/IXpdhvJ6NgdAsQO/r4=:kOrk92otOWp+kHWVEkNiRqiMoGpcB0/ID6G6oIjnXus="},
	{"a ligature normalized by NFKC", "\ufb01", "SCRAM-SHA-256$4096:dkXiAmHrbB3VwccGa6mC4Q==$CprbhhR4T33FNYHk1DbtIaHQszMLIezoFnFpmaBoPMw=:bx93SU9DxHGuotCR75AAir9e7l8avD1znJb7W1oB+Go="},
	{"mixed left-to-right and right-to-left, used raw", "x\u0627", "SCRAM-SHA-256$4096:KwpPu1KuV/mB3EjrOgDrfA==$8ULD9Yc4PVdmPNCg1AAdCNzvOFQqp4J4dxeXpA9x/nA=:36HmcgY9J0H7oi0UCQgENacoPi6kcyLEhHPDO3UilB0="},
	{"a feminine ordinal normalized by NFKC", "\u00aa", "SCRAM-SHA-256$4096:P7pX633BhnaMsjShoUKw1Q==$5mMg3+eCE/Gz5k5Mg+A8ighGB+JY9jjCWd1XOLNYbEc=:7nBQiKN7IvE0YBqdDdmHxg9g2wc8GjTniC5c+3Q25bA="},
	{"a long ASCII password", strings.Repeat("a", 1025), "SCRAM-SHA-256$4096:y+6KIXRSltNhQ7+8oFGlSg==$D51aYw+W4dVCHcySgyHrd0uFOQQvqoi/MdTW9AX9xI0=:9kJmTGTIQTtuACTndr/IZp8rAr2ZmYfdP82xOvja5u8="},
	{"a long decomposed password", strings.Repeat("a\u0308", 400), "SCRAM-SHA-256$4096:Db7BUeHyryOwBrPDtPP4DA==$49weAhuOYhoVo4W1O6v01fOn/JrVfVwFZyW6kEvWbjs=:ur3QPmgjunr31wvO78nIN6Xd2+PhnZSWvfdnZSqE7bI="},
}

func TestNewVerifierMatchesPostgreSQL(t *testing.T) {
	for _, tt := range postgresVerifiers {
		t.Run(tt.name, func(t *testing.T) {
			pg, err := ParseVerifier(tt.verifier)
			if err != nil {
				t.Fatal(err)
			}
			v, err := NewVerifier(tt.password, pg.Salt, pg.Iterations)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.String(); got != tt.verifier {
				t.Errorf("NewVerifier(%q) = %s, PostgreSQL made %s", tt.password, got, tt.verifier)
			}
		})
	}
}

func TestParseVerifierRoundTripsPostgreSQLVerifiers(t *testing.T) {
	for _, tt := range postgresVerifiers {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ParseVerifier(tt.verifier)
			if err != nil {
				t.Fatal(err)
			}
			if v.Iterations != 4096 || len(v.Salt) != 16 || len(v.StoredKey) != 32 || len(v.ServerKey) != 32 {
				t.Errorf("ParseVerifier(%s) = %+v", tt.verifier, v)
			}
			if got := v.String(); got != tt.verifier {
				t.Errorf("String() = %s, want %s", got, tt.verifier)
			}
		})
	}
}

func TestParseVerifierRejectsMalformedVerifiers(t *testing.T) {
	const (
		salt = "pGOXVDh5eMJ6dIMqlQLaQA=="
		key  = "ZFxqXZRDijTw8zbLd8J308DNXeVs1D+FapAlffEXrPk="
	)
	tests := []struct{ name, verifier string }{
		{"an empty string", ""},
		{"an MD5 hash", "md5a3556571e93b0d20722ba62be61e8c2d"},
		{"another mechanism", "SCRAM-SHA-1$4096:" + salt + "$" + key + ":" + key},
		{"a missing server key", "SCRAM-SHA-256$4096:" + salt + "$" + key},
		{"a missing salt", "SCRAM-SHA-256$4096$" + key + ":" + key},
		{"an empty salt", "SCRAM-SHA-256$4096:$" + key + ":" + key},
		{"a zero iteration count", "SCRAM-SHA-256$0:" + salt + "$" + key + ":" + key},
		{"a negative iteration count", "SCRAM-SHA-256$-1:" + salt + "$" + key + ":" + key},
		{"an iteration count past int32", "SCRAM-SHA-256$2147483648:" + salt + "$" + key + ":" + key},
		{"a non-numeric iteration count", "SCRAM-SHA-256$many:" + salt + "$" + key + ":" + key},
		{"a salt that is not base64", "SCRAM-SHA-256$4096:not base64!$" + key + ":" + key},
		{"non-canonical base64", "SCRAM-SHA-256$4096:pGOXVDh5eMJ6dIMqlQLaQB==$" + key + ":" + key},
		{"a short stored key", "SCRAM-SHA-256$4096:" + salt + "$" + salt + ":" + key},
		{"a short server key", "SCRAM-SHA-256$4096:" + salt + "$" + key + ":" + salt},
		{"trailing fields", "SCRAM-SHA-256$4096:" + salt + "$" + key + ":" + key + ":" + key},
		{"a trailing dollar", "SCRAM-SHA-256$4096:" + salt + "$" + key + ":" + key + "$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v, err := ParseVerifier(tt.verifier); err == nil {
				t.Errorf("ParseVerifier(%q) = %v, want an error", tt.verifier, v)
			}
		})
	}
}

func TestNewVerifierRejectsUnusableParameters(t *testing.T) {
	salt := []byte("0123456789abcdef")
	tests := []struct {
		name       string
		password   string
		salt       []byte
		iterations int
	}{
		{"an empty password", "", salt, 4096},
		{"an empty salt", "secret", nil, 4096},
		{"zero iterations", "secret", salt, 0},
		{"negative iterations", "secret", salt, -4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v, err := NewVerifier(tt.password, tt.salt, tt.iterations); err == nil {
				t.Errorf("NewVerifier = %v, want an error", v)
			}
		})
	}
}

func TestMockVerifierLooksLikeARealOne(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	alice := MockVerifier(secret, "alice")
	tests := []struct {
		name string
		ok   bool
	}{
		{"it uses PostgreSQL's default iteration count", alice.Iterations == DefaultIterations},
		{"its salt has PostgreSQL's default length", len(alice.Salt) == 16},
		{"it parses back from its string form", roundTrips(alice)},
		{"the same user always gets the same salt", bytes.Equal(alice.Salt, MockVerifier(secret, "alice").Salt)},
		{"another user gets another salt", !bytes.Equal(alice.Salt, MockVerifier(secret, "bob").Salt)},
		{"another secret gives another salt", !bytes.Equal(alice.Salt, MockVerifier([]byte("other"), "alice").Salt)},
		{"its keys are not derived like its salt", !bytes.Equal(alice.StoredKey, alice.ServerKey) && !bytes.HasPrefix(alice.StoredKey, alice.Salt)},
	}
	for _, tt := range tests {
		if !tt.ok {
			t.Errorf("%s: not so for %s", tt.name, alice)
		}
	}
}

func roundTrips(v *Verifier) bool {
	p, err := ParseVerifier(v.String())
	return err == nil && p.String() == v.String()
}
