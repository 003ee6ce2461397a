package store

import (
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// registerTypes teaches a connection's type map the types the store's
// queries pass: arrays of ids and events (see arrays.go), and uuid.UUID,
// which it encodes and scans directly as pgtype.UUID. Without it pgx finds
// no plan for uuid.UUID: arguments go through a generic fallback that
// costs about forty times as much per argument (allocating as it goes),
// and results through database/sql's Scanner, which formats each id as
// text and parses it back (a replay of 1,000 events scanned 1,000 ids
// that way).
func registerTypes(m *pgtype.Map) {
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{tryWrapUUIDEncodePlan, tryWrapArrayEncodePlan}, m.TryWrapEncodePlanFuncs...)
	// Codecs come before database/sql's Scanner, which uuid.UUID is.
	m.RegisterType(&pgtype.Type{Name: "uuid", OID: pgtype.UUIDOID, Codec: uuidCodec{}})
}

func tryWrapUUIDEncodePlan(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	switch v := value.(type) {
	case uuid.UUID:
		return &uuidEncodePlan{}, pgtype.UUID{Bytes: v, Valid: true}, true
	case *uuid.UUID:
		if v == nil {
			return nil, nil, false
		}
		return &uuidPtrEncodePlan{}, pgtype.UUID{Bytes: *v, Valid: true}, true
	}
	return nil, nil, false
}

type uuidEncodePlan struct{ next pgtype.EncodePlan }

func (p *uuidEncodePlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *uuidEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode(pgtype.UUID{Bytes: value.(uuid.UUID), Valid: true}, buf)
}

type uuidPtrEncodePlan struct{ next pgtype.EncodePlan }

func (p *uuidPtrEncodePlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *uuidPtrEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	v := value.(*uuid.UUID)
	if v == nil {
		return p.next.Encode(pgtype.UUID{}, buf)
	}
	return p.next.Encode(pgtype.UUID{Bytes: *v, Valid: true}, buf)
}

// uuidCodec is pgx's UUID codec that also scans straight into uuid.UUID.
type uuidCodec struct{ pgtype.UUIDCodec }

func (c uuidCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if _, ok := target.(*uuid.UUID); ok && format == pgtype.BinaryFormatCode {
		return scanBinaryUUID{}
	}
	return c.UUIDCodec.PlanScan(m, oid, format, target)
}

type scanBinaryUUID struct{}

// Scan leaves the id unchanged for NULL, as uuid.UUID's own Scan does.
func (scanBinaryUUID) Scan(src []byte, dst any) error {
	if src == nil {
		return nil
	}
	if len(src) != len(uuid.UUID{}) {
		return fmt.Errorf("scan uuid: %d bytes, want 16", len(src))
	}
	copy(dst.(*uuid.UUID)[:], src)
	return nil
}
