//! A team of threads that meet in rounds (a barrier that also shares out work).
//! Each member brings its part; when every member still in the team has brought
//! one, the parts (in the order of the members' ids) become one round of work,
//! whose tasks the members then take one at a time until none is left; each
//! member waits until all have finished their share. A member leaves when it is
//! dropped, and the others go on without it.
//!
//! The evaluation of stacks trained side by side ([`crate::kernels::Team`]) is
//! made of it: the threads meet after every epoch and share out the images.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// How the parts of a round, by member id, make its work.
type Make<P, W> = Box<dyn Fn(Vec<(usize, P)>) -> W + Send + Sync>;

/// Threads that meet in rounds, each bringing a part `P`; the parts of a round
/// make its work `W`.
pub struct Team<P, W> {
    state: Mutex<State<P, W>>,
    turn: Condvar,
    make: Make<P, W>,
}

struct State<P, W> {
    /// Members that have not left.
    members: usize,
    /// The parts of the members waiting for the next round, by member.
    waiting: Vec<(usize, P)>,
    /// Rounds started so far, and the last one.
    started: usize,
    round: Option<Arc<Round<W>>>,
}

/// One round: the work made of its members' parts, shared out task by task.
pub struct Round<W> {
    /// The work of the round.
    pub work: W,
    /// The ids of the members in the round, in increasing order (the order of
    /// their parts).
    pub members: Vec<usize>,
    next: AtomicUsize,
    done: AtomicUsize,
}

impl<W> Round<W> {
    /// The number of the next task nobody has taken: 0, 1, 2, … across all the
    /// round's members, each number given once.
    pub fn next_task(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed)
    }
}

impl<P, W> Team<P, W> {
    /// A team of `members` threads whose rounds' work `make` makes from the
    /// parts, given by member id in increasing order.
    pub fn new(
        members: usize,
        make: impl Fn(Vec<(usize, P)>) -> W + Send + Sync + 'static,
    ) -> Team<P, W> {
        Team {
            state: Mutex::new(State {
                members,
                waiting: Vec::new(),
                started: 0,
                round: None,
            }),
            turn: Condvar::new(),
            make: Box::new(make),
        }
    }

    /// Member `id` (`0 ≤ id < members`, each id taken by one thread).
    pub fn member(&self, id: usize) -> Member<'_, P, W> {
        Member { team: self, id }
    }

    fn lock(&self) -> MutexGuard<'_, State<P, W>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a round when every member still in the team is waiting.
    fn maybe_start(&self, st: &mut State<P, W>) {
        if st.waiting.is_empty() || st.waiting.len() < st.members {
            return;
        }
        let mut parts = std::mem::take(&mut st.waiting);
        parts.sort_by_key(|(id, _)| *id);
        let members = parts.iter().map(|(id, _)| *id).collect();
        st.round = Some(Arc::new(Round {
            work: (self.make)(parts),
            members,
            next: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
        }));
        st.started += 1;
        self.turn.notify_all();
    }
}

/// One thread's place in a [`Team`].
pub struct Member<'t, P, W> {
    team: &'t Team<P, W>,
    id: usize,
}

impl<P, W> Member<'_, P, W> {
    /// This member's id.
    pub fn id(&self) -> usize {
        self.id
    }

    /// Brings `part` and waits until the round it joins has started: when every
    /// member still in the team has brought a part.
    pub fn meet(&self, part: P) -> Arc<Round<W>> {
        let team = self.team;
        let mut st = team.lock();
        let ticket = st.started;
        st.waiting.push((self.id, part));
        team.maybe_start(&mut st);
        while st.started == ticket {
            st = team.turn.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.round
            .clone()
            .unwrap_or_else(|| unreachable!("a round started"))
    }

    /// Does this member's share of `round` by `work` (which takes tasks by
    /// [`Round::next_task`] until none is left), then waits until every member of
    /// the round has done its share. A share that panics still counts as done, so
    /// that the others are not left waiting.
    pub fn share<R>(&self, round: &Round<W>, work: impl FnOnce(&W) -> R) -> R {
        let team = self.team;
        let out = {
            let _done = Done { team, round };
            work(&round.work)
        };
        let mut st = team.lock();
        while round.done.load(Ordering::Acquire) < round.members.len() {
            st = team.turn.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        out
    }
}

/// Marks a member's share of a round as done when dropped, and wakes the others.
struct Done<'a, P, W> {
    team: &'a Team<P, W>,
    round: &'a Round<W>,
}

impl<P, W> Drop for Done<'_, P, W> {
    fn drop(&mut self) {
        let _st = self.team.lock();
        self.round.done.fetch_add(1, Ordering::AcqRel);
        self.team.turn.notify_all();
    }
}

impl<P, W> Drop for Member<'_, P, W> {
    /// Leaves the team: the others no longer wait for this member.
    fn drop(&mut self) {
        let mut st = self.team.lock();
        st.members = st.members.saturating_sub(1);
        self.team.maybe_start(&mut st);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three threads bring their ids for three rounds, and share out tasks that
    /// record who did them: every round holds every part in id order, and its
    /// tasks are each done once, whichever member takes them.
    #[test]
    fn members_meet_and_share_every_task_once() {
        let team: Team<usize, (Vec<usize>, Mutex<Vec<usize>>)> = Team::new(3, |parts| {
            (
                parts.into_iter().map(|(_, p)| p).collect(),
                Mutex::default(),
            )
        });
        std::thread::scope(|s| {
            for id in 0..3 {
                let team = &team;
                s.spawn(move || {
                    let me = team.member(id);
                    for _ in 0..3 {
                        let round = me.meet(10 * id);
                        assert_eq!(round.work.0, [0, 10, 20]);
                        assert_eq!(round.members, [0, 1, 2]);
                        me.share(&round, |(_, tasks)| {
                            while let t @ 0..100 = round.next_task() {
                                tasks.lock().unwrap_or_else(|e| e.into_inner()).push(t);
                            }
                        });
                        let mut done = round
                            .work
                            .1
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .clone();
                        done.sort_unstable();
                        assert_eq!(done, (0..100).collect::<Vec<_>>());
                    }
                });
            }
        });
    }

    /// A member that leaves is no longer waited for.
    #[test]
    fn a_member_that_leaves_is_not_waited_for() {
        let team: Team<usize, Vec<usize>> =
            Team::new(2, |parts| parts.into_iter().map(|(id, _)| id).collect());
        drop(team.member(0));
        let me = team.member(1);
        let round = me.meet(0);
        assert_eq!(round.work, [1]);
        assert_eq!(me.share(&round, |w| w.len()), 1);
    }
}
