//! Fits the model and writes it as JSON (the library embeds `model/model.json`).
//!
//! ```text
//! cargo run --release --bin train -- --train data/train.jsonl \
//!     --extra /work/shared/data/robocalls-dev.jsonl --out model/model.json
//! ```

use std::error::Error;
use std::path::PathBuf;

use callguard_detect::CallInput;
use callguard_detect::train::{TrainOptions, train};

fn read_jsonl(path: &PathBuf) -> Result<Vec<CallInput>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let mut calls = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        calls.push(serde_json::from_str(line).map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?);
    }
    Ok(calls)
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut train_files = Vec::new();
    let mut extra_files = Vec::new();
    let mut out = PathBuf::from("model/model.json");
    let mut options = TrainOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--train" => train_files.push(PathBuf::from(value()?)),
            "--extra" => extra_files.push(PathBuf::from(value()?)),
            "--out" => out = PathBuf::from(value()?),
            "--extra-weight" => options.extra_weight = value()?.parse()?,
            "--l2" => options.l2 = value()?.parse()?,
            "--epochs" => options.epochs = value()?.parse()?,
            "--margin" => options.threshold_margin = value()?.parse()?,
            _ => {
                return Err(
                    format!("unknown argument {arg}; usage: train --train FILE [--extra FILE] [--out FILE]").into()
                );
            }
        }
    }
    if train_files.is_empty() {
        return Err("usage: train --train FILE [--extra FILE] [--out FILE]".into());
    }
    let mut calls = Vec::new();
    for f in &train_files {
        calls.extend(read_jsonl(f)?);
    }
    let mut extra = Vec::new();
    for f in &extra_files {
        extra.extend(read_jsonl(f)?);
    }
    let (mut model, summary) = train(&calls, &extra, &options);
    let names = |fs: &[PathBuf]| {
        fs.iter().map(|f| f.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect::<Vec<_>>()
    };
    model
        .provenance
        .insert("data".to_owned(), serde_json::json!({"train": names(&train_files), "extra": names(&extra_files)}));
    model.provenance.insert(
        "command".to_owned(),
        serde_json::Value::from("cargo run --release --bin train -- --train data/train.jsonl --extra robocalls-dev.jsonl --out model/model.json"),
    );
    std::fs::write(&out, serde_json::to_string(&model)? + "\n")
        .map_err(|e| format!("writing {}: {e}", out.display()))?;
    eprintln!("{}", serde_json::to_string_pretty(&summary)?);
    eprintln!("fusion: {:?}", model.fusion);
    eprintln!("wrote {}", out.display());
    Ok(())
}
