//! `#[traced_job(init)]` on a real `main`, run as a subprocess with the console
//! exporter (which draws on stderr, leaving stdout to the program): telemetry
//! starts before the job span and is shut down (flushed) after it, also when
//! `main` returns an error; an init failure is one line on stderr and the job
//! still runs.

use std::process::{Command, Output};

fn run(envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_job_main"));
    for var in [
        "OTEL_SDK_DISABLED",
        "OTEL_ENABLED",
        "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_EXPORTER",
        "JOB_FAIL",
    ] {
        command.env_remove(var);
    }
    command.env("OTEL_TRACES_EXPORTER", "console");
    command.envs(envs.iter().copied());
    command.output().expect("run job_main")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn init_on_main_exports_the_job_span() {
    let output = run(&[]);
    let stdout = text(&output.stdout);
    let drawn = text(&output.stderr);
    assert!(output.status.success(), "{stdout}{drawn}");
    assert_eq!(
        stdout.trim(),
        "job ran: 42",
        "stdout holds the program's output only"
    );
    let main_row = drawn
        .lines()
        .find(|l| l.starts_with("main "))
        .unwrap_or_else(|| panic!("no job span:\n{drawn}"));
    assert!(
        main_row.contains("consumer") && main_row.contains("job.status=completed"),
        "{main_row}"
    );
    let step_row = drawn
        .lines()
        .find(|l| l.trim_start().starts_with("batch.step"))
        .expect("step span");
    assert!(
        step_row.starts_with("  "),
        "the step is drawn under the job: {step_row}"
    );
}

#[test]
fn init_on_main_flushes_when_main_returns_an_error() {
    let output = run(&[("JOB_FAIL", "1")]);
    let drawn = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    let main_row = drawn
        .lines()
        .find(|l| l.starts_with("main "))
        .unwrap_or_else(|| panic!("no job span:\n{drawn}"));
    assert!(
        main_row.contains("ERROR input bucket is empty") && main_row.contains("job.status=failed"),
        "{main_row}"
    );
}

#[test]
fn an_init_failure_is_one_line_and_the_job_still_runs() {
    let output = run(&[("OTEL_TRACES_SAMPLER", "sometimes")]);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success());
    assert!(stdout.contains("job ran: 42"));
    assert!(
        !stderr.contains("main "),
        "no telemetry, no spans: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with(
            "spanwright: telemetry not started: OTEL_TRACES_SAMPLER=\"sometimes\" is not valid"
        ),
        "{stderr}"
    );
}
