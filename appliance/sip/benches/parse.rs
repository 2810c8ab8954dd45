//! Parse + serialise throughput on a realistic ~4 KB SIPREC INVITE.
//! Criterion reports messages per second (one element per iteration).
// criterion's macros generate an undocumented entry point.
#![allow(missing_docs)]

use callguard_sip::SipMessage;
use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};

const INVITE: &[u8] = include_bytes!("../tests/data/siprec/invite_gtd.sip");

fn parse_and_serialize(c: &mut Criterion) {
    let mut group = c.benchmark_group("siprec_invite");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse", |b| b.iter(|| SipMessage::parse(black_box(INVITE)).unwrap()));
    let parsed = SipMessage::parse(INVITE).unwrap();
    let mut out = Vec::with_capacity(INVITE.len() + 64);
    group.bench_function("serialize", |b| {
        b.iter(|| {
            out.clear();
            black_box(&parsed).write_to(&mut out);
            out.len()
        })
    });
    group.bench_function("parse+serialize", |b| {
        b.iter(|| {
            let m = SipMessage::parse(black_box(INVITE)).unwrap();
            out.clear();
            m.write_to(&mut out);
            out.len()
        })
    });
    group.bench_function("parse+validate+multipart", |b| {
        b.iter(|| {
            let m = SipMessage::parse(black_box(INVITE)).unwrap();
            let r = m.as_request().unwrap();
            r.validate().unwrap();
            r.multipart().unwrap().unwrap().parts().len()
        })
    });
    group.finish();
}

criterion_group!(benches, parse_and_serialize);
criterion_main!(benches);
