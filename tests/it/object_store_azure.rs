//! Azure Blob against a real server: Azurite on 127.0.0.1, started and
//! stopped here. The same round trip as S3 (through the emulator flag), a
//! run configured only by per-URL options, and no SAS token or account key
//! in any output of a failing run.

use crate::common;
use crate::servers;
use servers::*;

#[test]
fn azurite_round_trip_matches_a_local_run() {
    let azurite = azurite();
    create_container(&azurite, "exports");
    create_container(&azurite, "snapshots");
    round_trip(&Remote {
        input: "az://exports/warehouse/daily".into(),
        output: "az://snapshots/healthscore".into(),
        env: azurite_env(&azurite),
        options: azurite_options(&azurite),
        // Every Parquet part as a multipart (block list) upload of 16 KiB
        // blocks.
        multipart: vec![
            "multipart_threshold=1".into(),
            "multipart_part_size=16KiB".into(),
        ],
    });
    // The second date's parts went up as block lists: the scores part of
    // D1 has committed blocks (a single Put Blob has none).
    let blocks = azure_block_list(
        &azurite,
        "snapshots",
        &format!("healthscore/scores/snapshot_date={D1}/part-00000.parquet"),
    );
    assert!(
        blocks.matches("<Block>").count() >= 2,
        "a multipart (block list) upload of several blocks: {blocks}"
    );
}

#[test]
fn azure_per_url_options_alone_reach_azurite() {
    let azurite = azurite();
    create_container(&azurite, "lake");
    let opts: Vec<String> = azurite_options(&azurite)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let with = |flag: &str, args: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        for o in &opts {
            a.push(flag.to_string());
            a.push(o.clone());
        }
        a
    };
    let call = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        healthscore_with(&a, &[])
    };
    ok_code(
        &call(with(
            "--output-option",
            &[
                "generate",
                "--accounts",
                "40",
                "--as-of",
                D1,
                "--out",
                "abfs://lake/exports",
            ],
        )),
        0,
    );
    let pipeline = common::repo().join("pipelines/default.toml");
    let mut run = with(
        "--input-option",
        &[
            "run",
            "--pipeline",
            pipeline.to_str().unwrap(),
            "--input",
            "abfs://lake/exports",
            "--output",
            "az://lake/snapshots",
            "--as-of",
            D1,
        ],
    );
    for o in &opts {
        run.push("--output-option".into());
        run.push(o.clone());
    }
    ok_code(&call(run), 0);
    let e = call(with(
        "--output-option",
        &[
            "explain",
            "--output",
            "az://lake/snapshots",
            "--customer",
            "C0000001",
        ],
    ));
    ok_code(&e, 0);
    assert!(e.stdout.contains("C0000001"), "{}", e.stdout);
}

const SIG: &str = "HealthscoreLeakTestSignature0123456789abcdefXYZ%2B%3D";
const ACCOUNT_KEY: &str =
    "SGVhbHRoc2NvcmVMZWFrVGVzdEFjY291bnRLZXkwMTIzNDU2Nzg5YWJjZGVmZ2hpamtsbW5vcA==";

#[test]
fn failing_azure_runs_print_no_secret() {
    let azurite = azurite();
    create_container(&azurite, "lake");
    let closed = format!("http://127.0.0.1:{}", free_port());
    let sas = format!(
        "sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&se=2030-01-01T00:00:00Z&st=2020-01-01T00:00:00Z&spr=https,http&sig={SIG}"
    );
    let pipeline = common::repo().join("pipelines/default.toml");
    let pipeline = pipeline.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let local_in = tmp.path().join("in");
    generate("20", D1, local_in.to_str().unwrap(), &[]);
    // A forged SAS token (Azurite refuses it: 403) and a wrong account key
    // (refused too), then the same against a closed port (retries, then
    // exit 1). The SAS token goes in the request URL, so object_store's own
    // messages carry it unless healthscore removes it.
    let credentials: Vec<(&str, Vec<(String, String)>)> = vec![
        (
            "sas",
            vec![
                ("AZURE_STORAGE_ACCOUNT_NAME".into(), AZURITE_ACCOUNT.into()),
                ("AZURE_STORAGE_SAS_KEY".into(), sas.clone()),
            ],
        ),
        (
            "account key",
            vec![
                ("AZURE_STORAGE_ACCOUNT_NAME".into(), AZURITE_ACCOUNT.into()),
                ("AZURE_STORAGE_ACCOUNT_KEY".into(), ACCOUNT_KEY.into()),
            ],
        ),
    ];
    for endpoint in [azurite.endpoint(), closed] {
        for (cred, vars) in &credentials {
            let mut env = vars.clone();
            env.push((
                "AZURE_STORAGE_ENDPOINT".into(),
                format!("{endpoint}/{AZURITE_ACCOUNT}"),
            ));
            env.push(("AZURE_ALLOW_HTTP".into(), "true".into()));
            env.push(("HEALTHSCORE_LOG".into(), "debug".into()));
            let cases: Vec<Vec<&str>> = vec![
                vec![
                    "run",
                    "--pipeline",
                    pipeline,
                    "--input",
                    local_in.to_str().unwrap(),
                    "--output",
                    "az://lake/snapshots",
                    "--as-of",
                    D1,
                    "--output-option",
                    "max_retries=1",
                ],
                vec![
                    "check",
                    "--pipeline",
                    pipeline,
                    "--input",
                    "az://lake/exports",
                    "--as-of",
                    D1,
                    "--input-option",
                    "max_retries=1",
                ],
                vec![
                    "explain",
                    "--output",
                    "az://lake/snapshots",
                    "--customer",
                    "C1",
                    "--output-option",
                    "max_retries=1",
                ],
            ];
            for args in cases {
                for format in ["text", "json"] {
                    let mut a = vec!["--format", format];
                    a.extend(args.iter().copied());
                    let o = healthscore_with(&a, &env);
                    let what = format!("{} with a {cred} against {endpoint} ({format})", args[0]);
                    ok_code(&o, 1);
                    assert!(o.stderr.contains("az://lake/"), "{what}: {}", o.stderr);
                    for secret in [SIG, "HealthscoreLeakTestSignature", ACCOUNT_KEY, &sas] {
                        assert!(
                            !o.stdout.contains(secret) && !o.stderr.contains(secret),
                            "{what} shows a secret:\nstdout:\n{}\nstderr:\n{}",
                            o.stdout,
                            o.stderr
                        );
                    }
                }
            }
        }
    }
}
