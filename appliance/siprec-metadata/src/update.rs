//! Folding a metadata update (re-INVITE or UPDATE) into what is known.
//!
//! The rules are documented on [`RecordingMetadata::apply_update`].

use crate::model::{
    CopiedHeader, DataMode, DirectionHint, ParticipantSessionAssoc, ParticipantStreamAssoc, RecordingMetadata,
    SessionRecordingAssoc, VendorField,
};

impl RecordingMetadata {
    /// Folds a metadata update into the known state.
    ///
    /// RFC 7865/7866: a `complete` body is a new snapshot and replaces the old
    /// one; a `partial` body carries only what changed. Merge rules for partial
    /// bodies, element by element, keyed by id:
    ///
    /// - `group`, `session`, `participant`, `stream`: new ids are appended; a
    ///   known id is amended: fields the update carries replace the old ones
    ///   (a participant's `nameID` list is replaced as a whole, which is how a
    ///   caller-ID change arrives), fields it omits are kept; `sipSessionID`
    ///   values accumulate.
    /// - `sessionrecordingassoc` (by session), `participantsessionassoc` (by
    ///   participant and session): times the update carries are recorded; a
    ///   `disassociate-time` ends the association, which is kept for history.
    /// - `participantstreamassoc` (by participant): with a `disassociate-time`
    ///   the association ends; otherwise the update states the participant's
    ///   current `send`/`recv` sets, which replace the old ones (a stream moved
    ///   to the transfer target disappears from the transferor's list).
    /// - copied headers and vendor fields: the update's values for a header (or
    ///   field) name and participant scope replace the old ones for that pair.
    /// - direction hints: the update's hints about a participant replace the old
    ///   hints about that participant; unscoped hints in the update replace all
    ///   old unscoped hints.
    ///
    /// The merged view keeps `datamode` `complete`: it describes everything known.
    pub fn apply_update(&mut self, update: RecordingMetadata) {
        if update.data_mode == DataMode::Complete {
            *self = update;
            return;
        }
        for g in update.groups {
            match self.groups.iter_mut().find(|x| !g.id.is_empty() && x.id == g.id) {
                Some(x) => keep_newer(&mut x.associate_time, g.associate_time),
                None => self.groups.push(g),
            }
        }
        for s in update.sessions {
            match self.sessions.iter_mut().find(|x| !s.id.is_empty() && x.id == s.id) {
                Some(x) => {
                    keep_newer(&mut x.group_ref, s.group_ref);
                    keep_newer(&mut x.start_time, s.start_time);
                    keep_newer(&mut x.stop_time, s.stop_time);
                    keep_newer(&mut x.associate_time, s.associate_time);
                    for id in s.sip_session_ids {
                        if !x.sip_session_ids.contains(&id) {
                            x.sip_session_ids.push(id);
                        }
                    }
                }
                None => self.sessions.push(s),
            }
        }
        for p in update.participants {
            match self.participants.iter_mut().find(|x| !p.id.is_empty() && x.id == p.id) {
                Some(x) if !p.name_ids.is_empty() => x.name_ids = p.name_ids,
                Some(_) => {}
                None => self.participants.push(p),
            }
        }
        for s in update.streams {
            match self.streams.iter_mut().find(|x| !s.id.is_empty() && x.id == s.id) {
                Some(x) => {
                    keep_newer(&mut x.session_id, s.session_id);
                    keep_newer(&mut x.label, s.label);
                    keep_newer(&mut x.mode, s.mode);
                }
                None => self.streams.push(s),
            }
        }
        for a in update.session_recording_assocs {
            merge_session_recording(&mut self.session_recording_assocs, a);
        }
        for a in update.participant_session_assocs {
            merge_participant_session(&mut self.participant_session_assocs, a);
        }
        for a in update.participant_stream_assocs {
            merge_participant_stream(&mut self.participant_stream_assocs, a);
        }
        replace_headers(&mut self.original_call.entries, update.original_call.entries);
        replace_fields(&mut self.vendor_fields, update.vendor_fields);
        replace_hints(&mut self.direction_hints, update.direction_hints);
    }
}

fn keep_newer<T>(old: &mut Option<T>, new: Option<T>) {
    if new.is_some() {
        *old = new;
    }
}

fn merge_session_recording(list: &mut Vec<SessionRecordingAssoc>, a: SessionRecordingAssoc) {
    match list.iter_mut().find(|x| x.session_id == a.session_id) {
        Some(x) => {
            keep_newer(&mut x.associate_time, a.associate_time);
            keep_newer(&mut x.disassociate_time, a.disassociate_time);
        }
        None => list.push(a),
    }
}

fn merge_participant_session(list: &mut Vec<ParticipantSessionAssoc>, a: ParticipantSessionAssoc) {
    match list.iter_mut().find(|x| x.participant_id == a.participant_id && x.session_id == a.session_id) {
        Some(x) => {
            keep_newer(&mut x.associate_time, a.associate_time);
            keep_newer(&mut x.disassociate_time, a.disassociate_time);
        }
        None => list.push(a),
    }
}

fn merge_participant_stream(list: &mut Vec<ParticipantStreamAssoc>, a: ParticipantStreamAssoc) {
    match list.iter_mut().find(|x| x.participant_id == a.participant_id && x.is_active()) {
        Some(x) if a.disassociate_time.is_some() => {
            x.disassociate_time = a.disassociate_time;
        }
        Some(x) => {
            x.send = a.send;
            x.recv = a.recv;
            keep_newer(&mut x.associate_time, a.associate_time);
        }
        None => list.push(a),
    }
}

fn replace_headers(old: &mut Vec<CopiedHeader>, new: Vec<CopiedHeader>) {
    old.retain(|o| !new.iter().any(|n| n.name.eq_ignore_ascii_case(&o.name) && n.participant_id == o.participant_id));
    old.extend(new);
}

fn replace_fields(old: &mut Vec<VendorField>, new: Vec<VendorField>) {
    old.retain(|o| !new.iter().any(|n| n.name == o.name && n.participant_id == o.participant_id));
    old.extend(new);
}

fn hint_scope(h: &DirectionHint) -> Option<&str> {
    match h {
        DirectionHint::ParticipantIsCaller { participant_id }
        | DirectionHint::ParticipantIsCallee { participant_id } => Some(participant_id),
        _ => None,
    }
}

fn replace_hints(old: &mut Vec<DirectionHint>, new: Vec<DirectionHint>) {
    let new_has_unscoped = new.iter().any(|h| hint_scope(h).is_none());
    old.retain(|o| match hint_scope(o) {
        Some(pid) => !new.iter().any(|n| hint_scope(n) == Some(pid)),
        None => !new_has_unscoped,
    });
    old.extend(new);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CallDirection, Participant, Session};

    fn partial() -> RecordingMetadata {
        RecordingMetadata { data_mode: DataMode::Partial, ..RecordingMetadata::default() }
    }

    #[test]
    fn complete_update_replaces_everything() {
        let mut m = RecordingMetadata::default();
        m.participants.push(Participant::default());
        m.apply_update(RecordingMetadata::default());
        assert!(m.participants.is_empty());
    }

    #[test]
    fn session_stop_time_and_ids_are_merged() {
        let mut m = RecordingMetadata::default();
        m.sessions.push(Session {
            id: "s".into(),
            sip_session_ids: vec!["a".into()],
            start_time: Some("t0".into()),
            ..Session::default()
        });
        let mut u = partial();
        u.sessions.push(Session {
            id: "s".into(),
            sip_session_ids: vec!["a".into(), "b".into()],
            stop_time: Some("t1".into()),
            ..Session::default()
        });
        m.apply_update(u);
        assert_eq!(m.sessions.len(), 1);
        assert_eq!(m.sessions[0].start_time.as_deref(), Some("t0"));
        assert_eq!(m.sessions[0].stop_time.as_deref(), Some("t1"));
        assert_eq!(m.sessions[0].sip_session_ids, ["a", "b"]);
        assert_eq!(m.data_mode, DataMode::Complete);
    }

    #[test]
    fn stream_assoc_disassociation_ends_it_and_reassociation_starts_a_new_one() {
        let mut m = RecordingMetadata::default();
        m.participant_stream_assocs.push(ParticipantStreamAssoc {
            participant_id: "p".into(),
            send: vec!["s1".into()],
            ..ParticipantStreamAssoc::default()
        });
        let mut u = partial();
        u.participant_stream_assocs.push(ParticipantStreamAssoc {
            participant_id: "p".into(),
            disassociate_time: Some("t".into()),
            ..ParticipantStreamAssoc::default()
        });
        m.apply_update(u);
        assert!(!m.participant_stream_assocs[0].is_active());
        assert_eq!(m.participant_stream_assocs[0].send, ["s1"]);

        let mut u = partial();
        u.participant_stream_assocs.push(ParticipantStreamAssoc {
            participant_id: "p".into(),
            send: vec!["s2".into()],
            ..ParticipantStreamAssoc::default()
        });
        m.apply_update(u);
        assert_eq!(m.participant_stream_assocs.len(), 2);
        assert_eq!(m.senders_of("s2"), ["p"]);
        assert!(m.senders_of("s1").is_empty());
    }

    #[test]
    fn hints_are_replaced_per_scope() {
        let caller = |p: &str| DirectionHint::ParticipantIsCaller { participant_id: p.into() };
        let callee = |p: &str| DirectionHint::ParticipantIsCallee { participant_id: p.into() };
        let mut m = RecordingMetadata {
            direction_hints: vec![caller("a"), callee("b"), DirectionHint::Direction(CallDirection::Incoming)],
            ..RecordingMetadata::default()
        };
        let mut u = partial();
        u.direction_hints = vec![callee("a")];
        m.apply_update(u);
        assert_eq!(m.direction_hints, [callee("b"), DirectionHint::Direction(CallDirection::Incoming), callee("a")]);
        let mut u = partial();
        u.direction_hints = vec![DirectionHint::Direction(CallDirection::Outgoing)];
        m.apply_update(u);
        assert_eq!(m.direction_hints, [callee("b"), callee("a"), DirectionHint::Direction(CallDirection::Outgoing)]);
    }
}
