package store

import (
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// The batch statements take arrays of ids ([]uuid.UUID) and of stored
// events ([][]byte). pgx has no plan for either type and encodes them by
// reflection, allocating for each element as it goes: a fifth of
// assistd's allocations under a chat load, and so of its garbage
// collections, whose marking is what delays messages in the open-loop
// bench. Here each is encoded through an array whose elements are
// pointers into the slice, which pgx's codecs read without allocating.

func tryWrapArrayEncodePlan(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	switch v := value.(type) {
	case []uuid.UUID:
		return &uuidArrayEncodePlan{}, uuidArray(v), true
	case [][]byte:
		return &bytesArrayEncodePlan{}, bytesArray(v), true
	}
	return nil, nil, false
}

type uuidArrayEncodePlan struct{ next pgtype.EncodePlan }

func (p *uuidArrayEncodePlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *uuidArrayEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode(uuidArray(value.([]uuid.UUID)), buf)
}

type bytesArrayEncodePlan struct{ next pgtype.EncodePlan }

func (p *bytesArrayEncodePlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *bytesArrayEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode(bytesArray(value.([][]byte)), buf)
}

// uuidArray is a one-dimensional uuid[] (NULL when nil).
type uuidArray []uuid.UUID

func (a uuidArray) Dimensions() []pgtype.ArrayDimension { return dimensions(a == nil, len(a)) }
func (a uuidArray) Index(i int) any                     { return (*uuidElement)(&a[i]) }
func (a uuidArray) IndexType() any                      { return (*uuidElement)(nil) }

// uuidElement is an element of uuidArray, read in place.
type uuidElement uuid.UUID

func (u *uuidElement) UUIDValue() (pgtype.UUID, error) {
	return pgtype.UUID{Bytes: *u, Valid: true}, nil
}

// bytesArray is a one-dimensional bytea[] (NULL when nil).
type bytesArray [][]byte

func (a bytesArray) Dimensions() []pgtype.ArrayDimension { return dimensions(a == nil, len(a)) }
func (a bytesArray) Index(i int) any                     { return (*bytesElement)(&a[i]) }
func (a bytesArray) IndexType() any                      { return (*bytesElement)(nil) }

// bytesElement is an element of bytesArray, read in place; a nil element
// is NULL.
type bytesElement []byte

func (b *bytesElement) BytesValue() ([]byte, error) { return *b, nil }

func dimensions(null bool, n int) []pgtype.ArrayDimension {
	if null {
		return nil
	}
	return []pgtype.ArrayDimension{{Length: int32(n), LowerBound: 1}}
}
