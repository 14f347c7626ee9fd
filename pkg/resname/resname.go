// Package resname builds and parses the API's resource names (AIP-122),
// such as "tickets/abc" or "customers/abc/products/def".
package resname

import "strings"

// Collection identifiers of the top-level resources.
const (
	Customers   = "customers"
	Products    = "products"
	Partners    = "partners"
	Staff       = "staff"
	SlaPolicies = "slaPolicies"
	Tickets     = "tickets"
	Events      = "events"
	FollowUps   = "followUps"

	Complaints            = "complaints"
	AccountabilityRecords = "accountabilityRecords"
	Courses               = "courses"
	Enrollments           = "enrollments"
	Assessments           = "assessments"
	Webhooks              = "webhooks"
	Campaigns             = "campaigns"
	Targets               = "targets"
	MaintenancePlans      = "maintenancePlans"
	Visits                = "visits"
	FeeSchedules          = "feeSchedules"
	Claims                = "claims"
	Settlements           = "settlements"
)

// Wildcard is the AIP-159 "any parent" id, as in "customers/-".
const Wildcard = "-"

// Format joins collection/id pairs: Format("tickets", "abc") is
// "tickets/abc".
func Format(collectionIDPairs ...string) string {
	return strings.Join(collectionIDPairs, "/")
}

// Parse splits name against the collections it must have, in order, and
// returns the ids. Parse("customers/a/products/b", "customers",
// "products") returns ["a", "b"], true. An id must be non-empty and must
// not contain '/'.
func Parse(name string, collections ...string) ([]string, bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 2*len(collections) {
		return nil, false
	}
	ids := make([]string, len(collections))
	for i, c := range collections {
		if parts[2*i] != c || parts[2*i+1] == "" {
			return nil, false
		}
		ids[i] = parts[2*i+1]
	}
	return ids, true
}

// ID parses a top-level name "collection/id" and returns the id.
func ID(name, collection string) (string, bool) {
	ids, ok := Parse(name, collection)
	if !ok {
		return "", false
	}
	return ids[0], true
}
