// Package hostutil holds what weir's kinds of host share and their users
// need not see: which weir binary can run on a machine, and waiting for a
// deployment to answer /readyz.
package hostutil
