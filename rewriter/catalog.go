package rewriter

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pgmask/pgmask/rewriter/transform"
)

// Catalog is an immutable snapshot of the upstream schema (relations, columns, types,
// inheritance, views, functions) that the rewriter resolves names against. The proxy
// loads it from the upstream (package proxy/catalog) and swaps it atomically; the
// rewriter only reads it.
//
// The zero Catalog is valid and empty: every relation is unknown, so a restricted role
// is refused everything until a real snapshot is installed (fail closed).
type Catalog struct {
	// Version increases with every snapshot of one process; caches key on it.
	Version uint64

	schemas   map[string]uint32
	relations map[qualifiedName]*Relation
	byOID     map[uint32]*Relation
	children  map[uint32][]uint32 // parent OID → inheritance children and partitions
	functions map[string][]Function
	operators map[string][]Operator
	types     map[qualifiedName]*Type
	typeNames map[string][]*Type
	typeOIDs  map[uint32]*Type
	elements  map[uint32]*Type // array type OID → its element type
}

// CatalogData is the content of a catalog snapshot: what the loader reads from the
// upstream and what test fixtures (rewriter/testdata/catalog.json) spell out.
type CatalogData struct {
	Schemas   []Schema   `json:"schemas"`
	Relations []Relation `json:"relations"`
	// Functions, Operators and Types list only objects outside pg_catalog: the
	// rewriter needs them to know when an unqualified name could resolve to something
	// that is not a built-in.
	Functions []Function `json:"functions,omitempty"`
	Operators []Operator `json:"operators,omitempty"`
	Types     []Type     `json:"types,omitempty"`
}

// Schema is a namespace (pg_namespace).
type Schema struct {
	OID  uint32 `json:"oid"`
	Name string `json:"name"`
}

// Relation kinds (pg_class.relkind).
const (
	KindTable            = "r"
	KindPartitionedTable = "p"
	KindView             = "v"
	KindMaterializedView = "m"
	KindForeignTable     = "f"
	KindIndex            = "i"
	KindPartitionedIndex = "I"
	KindSequence         = "S"
	KindTOAST            = "t"
	KindComposite        = "c"
)

// Relation is one pg_class entry.
type Relation struct {
	OID    uint32 `json:"oid"`
	Schema string `json:"schema"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	// Columns are the user columns in attnum order (dropped columns left out).
	// Snapshots may leave them out for pg_catalog and information_schema relations.
	Columns []Column `json:"columns,omitempty"`
	// Parents are the inheritance parents (pg_inherits), which for a partition is its
	// partitioned table.
	Parents []uint32 `json:"parents,omitempty"`
	// Reads lists, for a view or materialized view, the relations its query reads.
	Reads []uint32 `json:"reads,omitempty"`
	// Owner is, for an index, TOAST table or owned sequence, the table it belongs to.
	Owner uint32 `json:"owner,omitempty"`

	qname string // schema.name as SQL, made by NewCatalog
}

// Column is one pg_attribute entry of a relation.
type Column struct {
	Name string `json:"name"`
	// Type is the type as pg_catalog.format_type(atttypid, atttypmod) prints it.
	Type string `json:"type"`
	Num  int16  `json:"num"`

	qcol string // the name as SQL, made by NewCatalog
}

// quoted returns the column name as an SQL identifier.
func (c *Column) quoted() string {
	if c.qcol != "" {
		return c.qcol
	}
	return quoteIdent(c.Name)
}

// quotedName returns "schema.name" as SQL identifiers.
func (r *Relation) quotedName() string {
	if r.qname != "" {
		return r.qname
	}
	return quoteIdent(r.Schema) + "." + quoteIdent(r.Name)
}

// Function is a function outside pg_catalog (pg_proc).
type Function struct {
	OID    uint32 `json:"oid"`
	Schema string `json:"schema"`
	Name   string `json:"name"`
}

// Operator is an operator outside pg_catalog (pg_operator).
type Operator struct {
	OID    uint32 `json:"oid"`
	Schema string `json:"schema"`
	Name   string `json:"name"`
}

// Type is a type outside pg_catalog (pg_type).
type Type struct {
	OID    uint32 `json:"oid"`
	Schema string `json:"schema"`
	Name   string `json:"name"`
	// Kind is pg_type.typtype: b base, c composite, d domain, e enum, p pseudo,
	// r range, m multirange.
	Kind string `json:"kind"`
	// Relation is the relation of a composite (row) type, 0 otherwise.
	Relation uint32 `json:"relation,omitempty"`
	// Element is, for an array type, its element type (pg_type.typelem), 0 otherwise.
	// A snapshot that records no element at all (an older loader) gets its arrays
	// linked by name instead (linkArrays).
	Element uint32 `json:"element,omitempty"`
}

type qualifiedName struct{ schema, name string }

// String returns the name as "schema.name", the way pgmask.toml writes it.
func (q qualifiedName) String() string { return q.schema + "." + q.name }

// Qualified returns "schema.name", the way pgmask.toml names relations.
func (r *Relation) Qualified() string { return r.Schema + "." + r.Name }

// column returns the named column, or nil.
func (r *Relation) column(name string) *Column {
	for i := range r.Columns {
		if r.Columns[i].Name == name {
			return &r.Columns[i]
		}
	}
	return nil
}

// NewCatalog builds a snapshot from its content. It copies nothing the caller might
// change later only if the caller does not change d afterwards: hand it over.
func NewCatalog(version uint64, d CatalogData) (*Catalog, error) {
	c := &Catalog{
		Version:   version,
		schemas:   make(map[string]uint32, len(d.Schemas)),
		relations: make(map[qualifiedName]*Relation, len(d.Relations)),
		byOID:     make(map[uint32]*Relation, len(d.Relations)),
		children:  map[uint32][]uint32{},
		functions: map[string][]Function{},
		operators: map[string][]Operator{},
		types:     map[qualifiedName]*Type{},
		typeNames: map[string][]*Type{},
		typeOIDs:  map[uint32]*Type{},
		elements:  map[uint32]*Type{},
	}
	for _, s := range d.Schemas {
		c.schemas[s.Name] = s.OID
	}
	for i := range d.Relations {
		r := &d.Relations[i]
		if _, ok := c.schemas[r.Schema]; !ok {
			return nil, fmt.Errorf("catalog: relation %s: unknown schema %q", r.Qualified(), r.Schema)
		}
		q := qualifiedName{r.Schema, r.Name}
		if _, dup := c.relations[q]; dup {
			return nil, fmt.Errorf("catalog: relation %s listed twice", q)
		}
		sort.Slice(r.Columns, func(a, b int) bool { return r.Columns[a].Num < r.Columns[b].Num })
		if !isSystemSchema(r.Schema) {
			r.qname = minimalQuote(r.Schema) + "." + minimalQuote(r.Name)
			for j := range r.Columns {
				r.Columns[j].qcol = minimalQuote(r.Columns[j].Name)
			}
		}
		c.relations[q] = r
		c.byOID[r.OID] = r
	}
	for _, r := range c.byOID {
		for _, p := range r.Parents {
			c.children[p] = append(c.children[p], r.OID)
		}
	}
	for _, f := range d.Functions {
		c.functions[f.Name] = append(c.functions[f.Name], f)
	}
	for _, o := range d.Operators {
		c.operators[o.Name] = append(c.operators[o.Name], o)
	}
	for i := range d.Types {
		t := &d.Types[i]
		c.types[qualifiedName{t.Schema, t.Name}] = t
		c.typeNames[t.Name] = append(c.typeNames[t.Name], t)
		c.typeOIDs[t.OID] = t
	}
	c.linkArrays(d.Types)
	return c, nil
}

// linkArrays records the element type of each array type, so that the array of a
// hidden relation's row type is hidden too. Without recorded elements, an array type is
// linked by PostgreSQL's naming rule (makeArrayTypeName): it is a base type named "_"
// and the element's name. PostgreSQL names an array otherwise only when that name is
// taken or too long (63 bytes); such an array is linked only when the snapshot records
// elements.
func (c *Catalog) linkArrays(types []Type) {
	recorded := false
	for i := range types {
		recorded = recorded || types[i].Element != 0
	}
	for i := range types {
		t := &types[i]
		var elem *Type
		switch {
		case recorded:
			elem = c.typeOIDs[t.Element]
		case t.Kind == "b" && strings.HasPrefix(t.Name, "_"):
			elem = c.types[qualifiedName{t.Schema, t.Name[1:]}]
		}
		if elem != nil {
			c.elements[t.OID] = elem
		}
	}
}

// CatalogFromJSON builds a snapshot from the JSON form of CatalogData, as in
// rewriter/testdata/catalog.json.
func CatalogFromJSON(version uint64, b []byte) (*Catalog, error) {
	var d CatalogData
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return NewCatalog(version, d)
}

// Relation returns the relation schema.name, or nil when the snapshot has none.
func (c *Catalog) Relation(schema, name string) *Relation {
	if c == nil {
		return nil
	}
	return c.relations[qualifiedName{schema, name}]
}

// RelationByOID returns the relation with the OID, or nil.
func (c *Catalog) RelationByOID(oid uint32) *Relation {
	if c == nil {
		return nil
	}
	return c.byOID[oid]
}

// hasSchema reports whether a schema of that name exists.
func (c *Catalog) hasSchema(name string) bool {
	_, ok := c.schemas[name]
	return ok
}

// schemaOID returns the OID of the named schema (0 when unknown).
func (c *Catalog) schemaOID(name string) uint32 { return c.schemas[name] }

// HasSubjectCodes reports whether the database has pgmask's table of
// re-identification codes (transform.CodeTable), which the code transform reads.
// `pgmask init` creates it, or pgmask on first use (proxy/reid).
func (c *Catalog) HasSubjectCodes() bool {
	r := c.Relation(transform.CodeSchema, transform.CodeTable)
	return r != nil && r.Kind == KindTable && r.column("subject") != nil && r.column("code") != nil
}

// hasChildren reports whether the relation has inheritance children or partitions,
// i.e. whether ONLY changes what a reference to it reads.
func (c *Catalog) hasChildren(oid uint32) bool { return len(c.children[oid]) > 0 }

// functionsNamed returns the functions outside pg_catalog with the name.
func (c *Catalog) functionsNamed(name string) []Function { return c.functions[name] }

// operatorsNamed returns the operators outside pg_catalog with the name.
func (c *Catalog) operatorsNamed(name string) []Operator { return c.operators[name] }

// typesNamed returns the types outside pg_catalog with the name.
func (c *Catalog) typesNamed(name string) []*Type { return c.typeNames[name] }

// typeOf returns the type schema.name outside pg_catalog, or nil.
func (c *Catalog) typeOf(schema, name string) *Type { return c.types[qualifiedName{schema, name}] }

// typeByOID returns the type outside pg_catalog with the OID, or nil.
func (c *Catalog) typeByOID(oid uint32) *Type { return c.typeOIDs[oid] }

// elementOf returns the element type of an array type outside pg_catalog, or nil.
func (c *Catalog) elementOf(t *Type) *Type { return c.elements[t.OID] }

// Relations returns every relation of the snapshot, sorted by schema and name.
func (c *Catalog) Relations() []*Relation {
	if c == nil {
		return nil
	}
	out := make([]*Relation, 0, len(c.byOID))
	for _, r := range c.byOID {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Schema != out[j].Schema {
			return out[i].Schema < out[j].Schema
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// isSystemSchema reports whether relations of the schema are PostgreSQL's own
// catalogs, which pgmask governs with its catalog allowlist (catalogs.go).
func isSystemSchema(s string) bool { return s == "pg_catalog" || s == "information_schema" }
