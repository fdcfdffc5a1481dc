package resolvers

import (
	"context"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/graph/model"
)

// mayServe checks that the caller may record a service for the victim: an NGO only its own services, for
// a case referred to it (accepted, open) for that service.
func mayServe(ctx context.Context, req *Request, victimID, service string) error {
	if req.Rows != lindung.ScopeReferred {
		return nil
	}
	ok, err := req.Session.HasAcceptedReferral(ctx, victimID, service)
	if err != nil {
		return err
	}
	if !ok {
		return lindung.Errorf(lindung.EFORBIDDEN, "the case is not referred to your organisation for the %s service", service)
	}
	return nil
}

// requestService records a requested (or, with an appointment, scheduled) service.
func requestService(ctx context.Context, in model.RequestServiceInput, key *string) (*lindung.ServiceRecord, error) {
	req, err := authorize(ctx, lindung.ActionRecordServices)
	if err != nil {
		return nil, err
	}
	r := &lindung.ServiceRecord{Owned: lindung.Owned{VictimID: in.VictimID}, ServiceCode: in.Service,
		ProviderPartnerID: req.Viewer.PartnerID, Status: "REQUESTED", RequestedOn: today()}
	if in.ProviderSlug != nil {
		p, err := partnerBySlug(ctx, req, "providerSlug", *in.ProviderSlug)
		if err != nil {
			return nil, err
		}
		if req.Rows == lindung.ScopeReferred && p.ID != req.Viewer.PartnerID {
			return nil, lindung.Invalid("providerSlug", "an NGO records the services it provides itself")
		}
		r.ProviderPartnerID = p.ID
	}
	if in.ScheduledFor != nil {
		if in.ScheduledFor.Before(today()) {
			return nil, lindung.Invalid("scheduledFor", "an appointment is today or later")
		}
		r.Status, r.ScheduledFor = "SCHEDULED", in.ScheduledFor
	}
	if _, err := visibleVictim(ctx, req, in.VictimID); err != nil {
		return nil, err
	}
	if err := mayServe(ctx, req, in.VictimID, in.Service); err != nil {
		return nil, err
	}
	ref, _, err := idempotent(ctx, req, key, "requestService", in, func() (string, error) {
		if err := req.Session.CreateServiceRecord(ctx, r); err != nil {
			return "", err
		}
		return in.VictimID + "/" + r.ID, req.changed(ctx, in.VictimID, "serviceRecord", r.ID, "requested",
			"service", "provider", "status", "requestedOn", "scheduledFor")
	})
	if err != nil {
		return nil, err
	}
	return reloadService(ctx, req, ref)
}

func reloadService(ctx context.Context, req *Request, ref string) (*lindung.ServiceRecord, error) {
	victimID, id := victimAndID(ref)
	return reloadOne(ctx, req.Session.FindServiceRecordsByVictimIDs, victimID, id, func(r *lindung.ServiceRecord) string { return r.ID })
}

// updateService sets the appointment of an open service record (scheduledFor), or records it delivered.
func updateService(ctx context.Context, req *Request, id string, scheduledFor, deliveredOn *time.Time) (*lindung.ServiceRecord, error) {
	r, err := req.Session.FindServiceRecordForUpdate(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Status != "REQUESTED" && r.Status != "SCHEDULED" {
		return nil, lindung.Errorf(lindung.ECONFLICT, "SERVICE_STATUS: the service is %s already", r.Status)
	}
	if err := mayServe(ctx, req, r.VictimID, r.ServiceCode); err != nil {
		return nil, err
	}
	action, field := "scheduled", "scheduledFor"
	if scheduledFor != nil {
		if scheduledFor.Before(lindung.Day(r.RequestedOn)) {
			return nil, lindung.Invalid("scheduledFor", "an appointment is on or after the request")
		}
		r.Status, r.ScheduledFor = "SCHEDULED", scheduledFor
	} else {
		if deliveredOn.Before(lindung.Day(r.RequestedOn)) {
			return nil, lindung.Invalid("deliveredOn", "a service is delivered on or after it was requested")
		}
		action, field = "delivered", "deliveredOn"
		r.Status, r.DeliveredOn = "DELIVERED", deliveredOn
	}
	if err := req.Session.UpdateServiceRecord(ctx, r); err != nil {
		return nil, err
	}
	if err := req.changed(ctx, r.VictimID, "serviceRecord", r.ID, action, "status", field); err != nil {
		return nil, err
	}
	return reloadService(ctx, req, r.VictimID+"/"+r.ID)
}

// scheduleService sets the appointment of an open service record.
func scheduleService(ctx context.Context, id string, on time.Time) (*lindung.ServiceRecord, error) {
	req, err := authorize(ctx, lindung.ActionRecordServices)
	if err != nil {
		return nil, err
	}
	return updateService(ctx, req, id, &on, nil)
}

// recordDelivery records a service delivered: an open record, or a new one provided by the caller.
func recordDelivery(ctx context.Context, in model.ServiceDeliveryInput, key *string) (*lindung.ServiceRecord, error) {
	req, err := authorize(ctx, lindung.ActionRecordServices)
	if err != nil {
		return nil, err
	}
	on := today()
	if in.DeliveredOn != nil {
		on = lindung.Day(*in.DeliveredOn)
		if on.After(today()) {
			return nil, lindung.Invalid("deliveredOn", "a service is recorded delivered on or after the day it was")
		}
	}
	if in.ServiceRecordID == nil {
		switch {
		case in.VictimID == nil:
			return nil, lindung.Invalid("victimId", "a new service record names the victim (or give serviceRecordId)")
		case in.Service == nil:
			return nil, lindung.Invalid("service", "a new service record names the service (or give serviceRecordId)")
		}
		if _, err := visibleVictim(ctx, req, *in.VictimID); err != nil {
			return nil, err
		}
		if err := mayServe(ctx, req, *in.VictimID, *in.Service); err != nil {
			return nil, err
		}
	}
	ref, _, err := idempotent(ctx, req, key, "recordServiceDelivery", in, func() (string, error) {
		if in.ServiceRecordID != nil {
			r, err := updateService(ctx, req, *in.ServiceRecordID, nil, &on)
			if err != nil {
				return "", err
			}
			return r.VictimID + "/" + r.ID, nil
		}
		r := &lindung.ServiceRecord{Owned: lindung.Owned{VictimID: *in.VictimID}, ServiceCode: *in.Service,
			ProviderPartnerID: req.Viewer.PartnerID, Status: "DELIVERED", RequestedOn: on, DeliveredOn: &on}
		if err := req.Session.CreateServiceRecord(ctx, r); err != nil {
			return "", err
		}
		return r.VictimID + "/" + r.ID, req.changed(ctx, r.VictimID, "serviceRecord", r.ID, "delivered",
			"service", "provider", "status", "requestedOn", "deliveredOn")
	})
	if err != nil {
		return nil, err
	}
	return reloadService(ctx, req, ref)
}

// recordFamilyContact adds a call or visit to the victim's family-communication log.
func recordFamilyContact(ctx context.Context, in model.FamilyContactInput, key *string) (*lindung.FamilyContact, error) {
	req, err := authorize(ctx, lindung.ActionRecordServices)
	if err != nil {
		return nil, err
	}
	f := &lindung.FamilyContact{Owned: lindung.Owned{VictimID: in.VictimID}, Kind: in.Kind, OccurredOn: today()}
	if f.WithWhom, err = text("withWhom", in.WithWhom, 200); err != nil {
		return nil, err
	}
	if in.OccurredOn != nil {
		f.OccurredOn = lindung.Day(*in.OccurredOn)
		if f.OccurredOn.After(today()) {
			return nil, lindung.Invalid("occurredOn", "a family contact is recorded once it took place")
		}
	}
	if in.InterpreterSlug != nil {
		p, err := partnerBySlug(ctx, req, "interpreterSlug", *in.InterpreterSlug)
		if err != nil {
			return nil, err
		}
		f.InterpreterPartnerID = &p.ID
	}
	if _, err := visibleVictim(ctx, req, in.VictimID); err != nil {
		return nil, err
	}
	if err := mayServe(ctx, req, in.VictimID, "FAMILY_COMMUNICATION"); err != nil {
		return nil, err
	}
	ref, _, err := idempotent(ctx, req, key, "recordFamilyContact", in, func() (string, error) {
		if err := req.Session.CreateFamilyContact(ctx, f); err != nil {
			return "", err
		}
		fields := []string{"kind", "withWhom", "occurredOn"}
		if f.InterpreterPartnerID != nil {
			fields = append(fields, "interpreter")
		}
		return in.VictimID + "/" + f.ID, req.changed(ctx, in.VictimID, "familyContact", f.ID, "recorded", fields...)
	})
	if err != nil {
		return nil, err
	}
	victimID, id := victimAndID(ref)
	return reloadOne(ctx, req.Session.FindFamilyContactsByVictimIDs, victimID, id, func(f *lindung.FamilyContact) string { return f.ID })
}
