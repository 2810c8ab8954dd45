//! Checkpoint latency and tokens/s of the judge on the test model: a first
//! checkpoint of a call with a transcript of about 600 tokens, then a
//! second checkpoint whose transcript extends it by two turns, judged
//! with the first one's context kept (reuse) and from scratch (no reuse).
//!
//! ```text
//! scripts/fetch-test-models
//! cargo run --release -p callguard-llm --example checkpoint -- [--threads 2] [--runs 3]
//! ```
//!
//! Prompt tokens/s counts the tokens evaluated; generation tokens/s the
//! tokens generated (up to 64, the answer's JSON closing first).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use callguard_llm::{Judge, JudgeConfig, JudgeInput, Judgement, LlmModel};

/// About 600 tokens of a long scam call: the scripted one, with the
/// caller's pitch repeated in other words.
fn long_call() -> Vec<String> {
    let mut lines: Vec<String> = support::SCAM.iter().map(|s| (*s).to_owned()).collect();
    let extra = [
        "callee: I am not sure. Can I call the number on the back of my card instead?",
        "caller: No, that line is busy for hours, the fraud will be finished before you get through.",
        "caller: Listen, I can see the transfer going out now. We have minutes, not hours.",
        "callee: How do I know you are really from the bank?",
        "caller: I have your name and your address on my screen, Mrs Miller, 14 Oak Street. Who else would know that?",
        "caller: Now, after the code, we will move your savings to a safe account in your name until this is over.",
        "callee: A safe account? My son told me about calls like this.",
        "caller: Your son is not a bank employee. Please do not hang up, this call is recorded for your protection.",
        "caller: You can also buy gift cards at the store and read me the numbers, that protects the money too.",
        "callee: That sounds strange. I want to talk to my branch first.",
    ];
    lines.extend(extra.iter().map(|s| (*s).to_owned()));
    lines.extend(extra.iter().map(|s| (*s).to_owned()));
    lines
}

const SIGNALING: &str = "caller ID not attested (STIR/SHAKEN C)\ncall from abroad presenting a domestic number";

fn run(judge: &mut Judge<'_>, call: u64, transcript: &str) -> (Judgement, Duration) {
    let started = Instant::now();
    let input = JudgeInput {
        call,
        transcript,
        signaling: SIGNALING,
        max_tokens: 64,
        deadline: Instant::now() + Duration::from_secs(120),
    };
    let judgement = judge.judge(&input).expect("judge");
    (judgement, started.elapsed())
}

#[derive(Default)]
struct Row {
    latency: Vec<Duration>,
    prompt: Vec<(u32, u32, Duration)>,
    generated: Vec<(u32, Duration)>,
}

impl Row {
    fn add(&mut self, j: &Judgement, latency: Duration) {
        self.latency.push(latency);
        self.prompt.push((j.tokens.prompt, j.tokens.reused, j.prompt_time));
        self.generated.push((j.tokens.generated, j.generate_time));
    }

    fn line(&self, name: &str) -> String {
        let mut latency = self.latency.clone();
        latency.sort();
        let median = latency[latency.len() / 2];
        let (p, r, pt) =
            self.prompt.iter().fold((0u32, 0u32, Duration::ZERO), |a, x| (a.0 + x.0, a.1 + x.1, a.2 + x.2));
        let (g, gt) = self.generated.iter().fold((0u32, Duration::ZERO), |a, x| (a.0 + x.0, a.1 + x.1));
        let n = self.latency.len() as u32;
        format!(
            "| {name} | {:.0} | {} | {} | {:.0} | {} | {:.0} |",
            median.as_secs_f64() * 1000.0,
            p / n,
            r / n,
            f64::from(p) / pt.as_secs_f64(),
            g / n,
            f64::from(g) / gt.as_secs_f64().max(1e-9),
        )
    }
}

fn main() {
    let mut threads: u32 = 2;
    let mut runs: u32 = 3;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().and_then(|v| v.parse().ok()).expect("a number after the option");
        match arg.as_str() {
            "--threads" => threads = value,
            "--runs" => runs = value,
            other => panic!("unknown option {other}; use --threads N --runs N"),
        }
    }
    let path = support::model();
    let loading = Instant::now();
    let model = LlmModel::load(&path, 0).expect("load the model");
    let load_time = loading.elapsed();
    let config = JudgeConfig { threads, ctx: 2048, slots: 2, reuse: true };
    let mut reusing = model.judge(config).expect("judge");
    let mut fresh = model.judge(JudgeConfig { reuse: false, ..config }).expect("judge");

    let lines = long_call();
    let first = lines[..lines.len() - 2].join("\n");
    let second = lines.join("\n");
    let (mut cold, mut warm, mut scratch) = (Row::default(), Row::default(), Row::default());
    for call in 0..u64::from(runs) {
        let (j, t) = run(&mut reusing, call, &first);
        cold.add(&j, t);
        let (j, t) = run(&mut reusing, call, &second);
        warm.add(&j, t);
        reusing.forget(call);
        let (_, _) = run(&mut fresh, 1000 + call, &first);
        let (j, t) = run(&mut fresh, 1000 + call, &second);
        scratch.add(&j, t);
    }
    println!(
        "model {} ({} template), loaded in {:.0} ms; {threads} threads, ctx 2048, {runs} runs, greedy, up to 64 output tokens\n",
        model.name(),
        model.template(),
        load_time.as_secs_f64() * 1000.0
    );
    println!(
        "| checkpoint | latency ms (median) | prompt tokens evaluated | prompt tokens reused | prompt tok/s | tokens generated | generation tok/s |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!("{}", cold.line("1st (~600-token transcript, cold)"));
    println!("{}", warm.line("2nd, extends the 1st, context reused"));
    println!("{}", scratch.line("2nd, extends the 1st, no reuse"));
    println!(
        "\ncommand: CARGO_TARGET_DIR=/work/scratch/target-llm cargo run -p callguard-llm --example checkpoint -- --threads {threads} --runs {runs}"
    );
}
