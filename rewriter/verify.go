package rewriter

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// pgmask sends SQL text, not trees, so what PostgreSQL executes is what its parser
// makes of pg_query's deparser output. A deparser bug (one drops the parentheses
// around a subscripted ARRAY[] constructor) must never change what a statement means,
// so every rewritten statement string is parsed again and its tree compared with the
// one pgmask built, positions aside. A mismatch is a refusal.

// roundTrips reports whether out parses back into tree.
func roundTrips(tree *pg_query.ParseResult, out string) bool {
	back, err := pg_query.Parse(out)
	if err != nil {
		return false
	}
	clearLocations(tree.ProtoReflect())
	clearLocations(back.ProtoReflect())
	return proto.Equal(tree, back)
}

// clearLocations zeroes the source positions in a tree (every "location" field and the
// statement offsets), which differ between the client's text and pgmask's.
func clearLocations(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Name() == "location" || fd.Name() == "stmt_location" || fd.Name() == "stmt_len":
			m.Clear(fd)
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			for i := 0; i < v.List().Len(); i++ {
				clearLocations(v.List().Get(i).Message())
			}
		case fd.Kind() == protoreflect.MessageKind:
			clearLocations(v.Message())
		}
		return true
	})
}
