package main

// --user, and what a root exectrail takes away from the job so that the
// job cannot reach the supervisor (README, Security).

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// jobIdentity sets opt.user from --user and decides whether the job loses
// CAP_SYS_PTRACE: as root, whenever a policy is in force or the job runs
// as another user. A root job with CAP_SYS_PTRACE could trace exectrail,
// take its fds or rewrite its memory, making a policy void; a --user job
// that regains root through a setuid program must not get it back.
func (f *runFlags) jobIdentity(opt *options) error {
	root := os.Geteuid() == 0
	if f.user != "" {
		if !root {
			return errors.New("--user needs exectrail to run as root")
		}
		u, err := lookupJobUser(f.user)
		if err != nil {
			return fmt.Errorf("--user: %w", err)
		}
		opt.user = u
	}
	opt.dropPtrace = root && (opt.user != nil || !opt.policy.Empty())
	return nil
}

// lookupJobUser parses USER[:GROUP]. USER is a name or a uid; a known
// user gets its primary group and supplementary groups, unless GROUP (a
// name or a gid) is given, which then is the only group. A uid that names
// no user needs GROUP.
func lookupJobUser(spec string) (*jobUser, error) {
	name, group, hasGroup := strings.Cut(spec, ":")
	if name == "" || (hasGroup && group == "") {
		return nil, fmt.Errorf("%q: want USER or USER:GROUP", spec)
	}
	ju := &jobUser{gid: -1}
	u, err := user.Lookup(name)
	if err != nil {
		u, err = user.LookupId(name)
	}
	switch {
	case err == nil:
		if ju.uid, err = strconv.Atoi(u.Uid); err != nil {
			return nil, fmt.Errorf("user %q has uid %q", name, u.Uid)
		}
		if !hasGroup {
			if ju.gid, err = strconv.Atoi(u.Gid); err != nil {
				return nil, fmt.Errorf("user %q has gid %q", name, u.Gid)
			}
			ids, err := u.GroupIds()
			if err != nil {
				return nil, fmt.Errorf("groups of %q: %w", name, err)
			}
			for _, g := range ids {
				n, err := strconv.Atoi(g)
				if err == nil && n != ju.gid {
					ju.groups = append(ju.groups, n)
				}
			}
		}
	default:
		n, cerr := strconv.Atoi(name)
		if cerr != nil || n < 0 {
			return nil, fmt.Errorf("no user %q", name)
		}
		if !hasGroup {
			return nil, fmt.Errorf("uid %d names no user: give UID:GID", n)
		}
		ju.uid = n
	}
	if hasGroup {
		gid, err := strconv.Atoi(group)
		if err != nil || gid < 0 {
			g, lerr := user.LookupGroup(group)
			if lerr != nil {
				return nil, fmt.Errorf("no group %q", group)
			}
			if gid, err = strconv.Atoi(g.Gid); err != nil {
				return nil, fmt.Errorf("group %q has gid %q", group, g.Gid)
			}
		}
		ju.gid = gid
	}
	if ju.uid == 0 {
		return nil, errors.New("USER must not be root: the point is a job that cannot reach exectrail")
	}
	return ju, nil
}
