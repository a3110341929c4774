//! `fleetgov-fuzz`: writes the corpus, replays it, and runs the mutation fuzzer.
//!
//! ```text
//! fleetgov-fuzz seed [TARGET...]                      write the generated seeds into fuzz/corpus
//! fleetgov-fuzz replay TARGET [FILE...]                run the corpus (or the files given)
//! fleetgov-fuzz mutate TARGET [COUNT] [SEED]          run COUNT mutated corpus inputs (default: the slow tier's count, seed 1)
//! ```

use std::process::ExitCode;

use fleetgov_fuzz::{TARGETS, Target, corpus, mutate};

const USAGE: &str = "usage: fleetgov-fuzz seed [TARGET...] | replay TARGET [FILE...] | mutate TARGET [COUNT] [SEED]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn target(name: Option<&String>) -> Result<&'static Target, String> {
    let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    let name = name.ok_or_else(|| format!("{USAGE}\ntargets: {}", names.join(", ")))?;
    fleetgov_fuzz::target(name).ok_or_else(|| format!("no target {name}; targets: {}", names.join(", ")))
}

fn number(arg: Option<&String>, default: u64) -> Result<u64, String> {
    arg.map_or(Ok(default), |a| a.replace('_', "").parse().map_err(|_| format!("not a number: {a}")))
}

fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("seed") => {
            let chosen: Vec<&Target> = if args.len() > 1 {
                args[1..].iter().map(|a| target(Some(a))).collect::<Result<_, _>>()?
            } else {
                TARGETS.iter().collect()
            };
            for t in chosen {
                let n = corpus::write_seeds(t).map_err(|e| format!("{}: {e}", t.name))?;
                println!("{}: {n} seeds in {}", t.name, corpus::dir(t).display());
            }
            Ok(())
        }
        Some("replay") => {
            let t = target(args.get(1))?;
            let inputs = if args.len() > 2 {
                args[2..].iter().map(|f| std::fs::read(f).map(|b| (f.clone(), b))).collect::<Result<Vec<_>, _>>()
            } else {
                corpus::read(t)
            }
            .map_err(|e| e.to_string())?;
            let mut harness = (t.harness)();
            for (name, bytes) in &inputs {
                println!("{name}");
                harness.run(bytes);
            }
            println!("{}: {} inputs, every property held", t.name, inputs.len());
            Ok(())
        }
        Some("mutate") => {
            let t = target(args.get(1))?;
            let (count, seed) = (number(args.get(2), t.slow_count)?, number(args.get(3), 1)?);
            let inputs: Vec<Vec<u8>> =
                corpus::read(t).map_err(|e| e.to_string())?.into_iter().map(|(_, bytes)| bytes).collect();
            if inputs.is_empty() {
                return Err(format!("{}: the corpus is empty; run `fleetgov-fuzz seed` first", t.name));
            }
            mutate::run(t, &inputs, count, seed);
            println!("{}: {count} mutated inputs (seed {seed}), every property held", t.name);
            Ok(())
        }
        _ => Err(USAGE.to_owned()),
    }
}
