package service

import (
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/principal"
)

// Scoping decides which rows a caller may see and change (API.md §5). The
// policy table (package auth) already decided the caller may call the
// method; these conditions are added to every query of it, so a List
// never returns rows outside the caller's scope, and a Get or a change of
// such a row is NOT_FOUND, exactly as for a row that does not exist.
//
// Desk roles (admin, manager, agent) see everything. Those who do the work
// see what is dispatched to them; customers see their own.

// nothing matches no row, for callers with no business in a table.
const nothing = "1 = 0"

// ticketScope limits a tickets query to the caller's tickets. The
// first-contact owner may always read the ticket.
func ticketScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	switch p.Role {
	case principal.RoleAdmin, principal.RoleManager, principal.RoleAgent:
		return q
	case principal.RolePartner:
		return q.Where("partner_id = ?", p.ID())
	case principal.RoleTechnician:
		return q.Where("(assignee_id = ? OR first_contact_id = ?)", p.ID(), p.ID())
	case principal.RoleCustomer:
		return q.Where("customer_id = ?", p.ID())
	}
	return q.Where(nothing)
}

// ticketScopeColumn is the column ticketScope restricts the caller's
// tickets by ("" for the desk), for listRequest.scopedBy. A technician's
// scope is assignee or first contact; the assignee names it.
func ticketScopeColumn(p principal.Principal) string {
	if p.Role == principal.RoleCustomer {
		return "customer_id"
	}
	return workColumn(p)
}

// customerScopeColumn is the column that limits a customer to their own
// complaints or follow-ups ("" for the desk), for listRequest.scopedBy.
func customerScopeColumn(p principal.Principal) string {
	if p.Role == principal.RoleCustomer {
		return "customer_id"
	}
	return ""
}

// ticketWriteScope limits the tickets a caller may change: technicians
// work only what is assigned to them, even where they may read more.
func ticketWriteScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	if p.Role == principal.RoleTechnician {
		return q.Where("assignee_id = ?", p.ID())
	}
	return ticketScope(q, p)
}

// seesInternal reports whether the caller may read staff-only notes.
func seesInternal(p principal.Principal) bool {
	return p.Role != principal.RoleCustomer && p.Role != principal.RolePartner
}

// workColumn is the tickets column naming those who work a ticket, for
// partners and technicians, who see the customers and products of their
// work only.
func workColumn(p principal.Principal) string {
	switch p.Role {
	case principal.RolePartner:
		return "partner_id"
	case principal.RoleTechnician:
		return "assignee_id"
	}
	return ""
}

// customerScope limits a customers query.
func customerScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	switch p.Role {
	case principal.RoleAdmin, principal.RoleManager, principal.RoleAgent:
		return q
	case principal.RoleCustomer:
		return q.Where("id = ?", p.ID())
	case principal.RolePartner, principal.RoleTechnician:
		return q.Where("id IN (SELECT customer_id FROM tickets WHERE "+workColumn(p)+" = ?)", p.ID())
	}
	return q.Where(nothing)
}

// productScope limits a products query.
func productScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	switch p.Role {
	case principal.RoleAdmin, principal.RoleManager, principal.RoleAgent:
		return q
	case principal.RoleCustomer:
		return q.Where("customer_id = ?", p.ID())
	case principal.RolePartner, principal.RoleTechnician:
		return q.Where("id IN (SELECT product_id FROM tickets WHERE "+workColumn(p)+" = ?)", p.ID())
	}
	return q.Where(nothing)
}

// staffScope limits a staff query: a shop sees its own technicians, a
// technician only themself.
func staffScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	switch p.Role {
	case principal.RoleAdmin, principal.RoleManager, principal.RoleAgent, principal.RoleTrainer:
		return q
	case principal.RolePartner:
		return q.Where("partner_id = ?", p.ID())
	case principal.RoleTechnician:
		return q.Where("id = ?", p.ID())
	}
	return q.Where(nothing)
}

// partnerScope limits a partners query: a shop sees only itself.
func partnerScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	switch p.Role {
	case principal.RoleAdmin, principal.RoleManager, principal.RoleAgent, principal.RoleTrainer:
		return q
	case principal.RolePartner:
		return q.Where("id = ?", p.ID())
	}
	return q.Where(nothing)
}

// contactOnly strips a customer record down to what a partner or
// technician needs to do the work: who, how to reach them, where.
func contactOnly(c *aftersalesv1.Customer, p principal.Principal) *aftersalesv1.Customer {
	if workColumn(p) == "" {
		return c
	}
	return &aftersalesv1.Customer{Name: c.GetName(), DisplayName: c.GetDisplayName(), Phone: c.GetPhone(), Address: c.GetAddress(), Etag: c.GetEtag()}
}

// traineeScope limits a staff query to the people whose training record
// the caller may read: trainers and managers read everyone's; agents and
// technicians their own; a shop its own technicians.
func traineeScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	switch p.Role {
	case principal.RoleAdmin, principal.RoleManager, principal.RoleTrainer:
		return q
	case principal.RoleAgent, principal.RoleTechnician:
		return q.Where("id = ?", p.ID())
	case principal.RolePartner:
		return q.Where("partner_id = ?", p.ID())
	}
	return q.Where(nothing)
}

// trainingRecordScope is traineeScope for the tables that belong to a
// staff member through staff_id (enrollments, assessments).
func trainingRecordScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	switch p.Role {
	case principal.RoleAdmin, principal.RoleManager, principal.RoleTrainer:
		return q
	case principal.RoleAgent, principal.RoleTechnician:
		return q.Where("staff_id = ?", p.ID())
	case principal.RolePartner:
		return q.Where("staff_id IN (SELECT id FROM staff WHERE partner_id = ?)", p.ID())
	}
	return q.Where(nothing)
}

// trainerScope limits a staff query to the people whose training the
// caller may change (enrol, complete, assess): trainers everyone; a
// manager their own team (the staff they manage); a shop its own
// technicians.
func trainerScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	switch p.Role {
	case principal.RoleAdmin, principal.RoleTrainer:
		return q
	case principal.RoleManager:
		return q.Where("manager_id = ?", p.ID())
	case principal.RolePartner:
		return q.Where("partner_id = ?", p.ID())
	}
	return q.Where(nothing)
}
