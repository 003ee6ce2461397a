package store

import (
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// registerUUID teaches a connection's type map to encode uuid.UUID
// directly as pgtype.UUID. Without it pgx finds no plan for the named type
// and goes through a generic fallback that costs about forty times as much
// per argument (allocating as it goes): several percent of assistd's CPU
// under load, where every query takes session or token ids.
func registerUUID(m *pgtype.Map) {
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{tryWrapUUIDEncodePlan}, m.TryWrapEncodePlanFuncs...)
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
