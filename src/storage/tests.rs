use super::*;

fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn redact_removes_registered_secrets_url_queries_and_signatures() {
    register_secret("AKIAUNITTESTSECRET01");
    register_secret("sv=2021-08-06&sig=UnitTestSignatureValue%2Babc&se=2030");
    let msg =
        "Error performing GET https://acct.blob.core.windows.net/c/x?sv=2021-08-06&sig=abc%2Bdef \
               key AKIAUNITTESTSECRET01 and UnitTestSignatureValue+abc, \
               header Credential=AKID/20261124/us-east-1/s3, Signature=deadbeef";
    let r = redact(msg);
    assert!(!r.contains("AKIAUNITTESTSECRET01"), "{r}");
    assert!(!r.contains("UnitTestSignatureValue"), "{r}");
    assert!(!r.contains("abc%2Bdef"), "{r}");
    assert!(!r.contains("deadbeef"), "{r}");
    assert!(!r.contains("AKID/2026"), "{r}");
    assert!(
        r.contains("https://acct.blob.core.windows.net/c/x?<redacted>"),
        "{r}"
    );
    // Words that merely look like options are untouched.
    assert_eq!(
        redact("write of s3://b/out/_SUCCESS"),
        "write of s3://b/out/_SUCCESS"
    );
}

#[test]
fn short_or_boolean_values_are_not_treated_as_secrets() {
    register_secret("true");
    register_secret("abc");
    assert_eq!(redact("allow_http true abc"), "allow_http true abc");
}

#[test]
fn secret_option_keys() {
    for k in [
        "aws_secret_access_key",
        "AWS_ACCESS_KEY_ID",
        "aws_session_token",
        "azure_storage_account_key",
        "azure_storage_sas_key",
        "azure_client_secret",
        "google_service_account_key",
    ] {
        assert!(is_secret_key(k), "{k}");
    }
    for k in [
        "aws_endpoint",
        "aws_region",
        "azure_storage_account_name",
        "use_emulator",
    ] {
        assert!(!is_secret_key(k), "{k}");
    }
}

#[test]
fn display_url_drops_passwords_queries_and_fragments() {
    assert_eq!(display_url("az://c/p?sv=1&sig=x"), "az://c/p");
    assert_eq!(display_url("s3://b/p#frag"), "s3://b/p");
    assert_eq!(display_url("s3://user:pw@b/p"), "s3://user@b/p");
    let s = Store::open("memory://unit-display/out?token=xyz", &[]).unwrap();
    assert_eq!(s.url(), "memory://unit-display/out");
}

#[test]
fn healthscore_options_are_split_from_store_options() {
    let o = split_options(&opts(&[
        ("max_retries", "2"),
        ("retry_timeout", "1500ms"),
        ("retry_backoff", "0.5s"),
        ("multipart_threshold", "8MiB"),
        ("multipart_part_size", "5m"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ]))
    .unwrap();
    assert_eq!(o.retry.max_retries, 2);
    assert_eq!(o.retry.retry_timeout, Duration::from_millis(1500));
    assert_eq!(o.retry.backoff.init_backoff, Duration::from_millis(500));
    assert_eq!(o.write.multipart_threshold, 8 << 20);
    assert_eq!(o.write.part_size, 5 << 20);
    assert_eq!(o.store, opts(&[("aws_endpoint_url", "http://127.0.0.1:9")]));
    let defaults = split_options(&[]).unwrap();
    assert_eq!(defaults.retry.max_retries, MAX_RETRIES);
    assert_eq!(defaults.write.multipart_threshold, MULTIPART_THRESHOLD);
    for bad in [
        ("max_retries", "many"),
        ("retry_timeout", "soon"),
        ("multipart_threshold", "-1"),
        ("multipart_part_size", "0"),
    ] {
        let Err(e) = split_options(&opts(&[bad])) else {
            panic!("{bad:?} is accepted")
        };
        assert_eq!(e.exit_code(), 64, "{bad:?}: {e}");
    }
}

#[test]
fn every_scheme_builds_its_store_and_rejects_unknown_options() {
    let s3 = opts(&[
        ("aws_endpoint", "http://127.0.0.1:9"),
        ("aws_allow_http", "true"),
        ("aws_region", "us-east-1"),
        ("aws_access_key_id", "unit-key-id"),
        ("aws_secret_access_key", "unit-secret-value"),
    ]);
    Store::open("s3://bucket/prefix", &s3).unwrap();
    Store::open("s3a://bucket/prefix", &s3).unwrap();
    let gcs = opts(&[
        ("google_skip_signature", "true"),
        ("google_base_url", "http://127.0.0.1:9"),
    ]);
    let g = Store::open("gs://bucket/prefix", &gcs).unwrap();
    assert_eq!(g.url(), "gs://bucket/prefix");
    let az = opts(&[("use_emulator", "true")]);
    for url in [
        "az://container/p",
        "abfs://container/p",
        "abfss://container/p",
        "azure://container/p",
    ] {
        Store::open(url, &az).unwrap();
    }
    for (url, o) in [
        ("s3://b/p", ("aws_no_such_key", "1")),
        ("gs://b/p", ("google_no_such_key", "1")),
        ("az://c/p", ("azure_no_such_key", "1")),
    ] {
        let e = Store::open(url, &opts(&[o])).expect_err("unknown option");
        assert_eq!(e.exit_code(), 64);
        assert!(e.to_string().contains(o.0), "{e}");
    }
    let e = Store::open("ftp://host/p", &[]).expect_err("scheme");
    assert_eq!(e.exit_code(), 64);
}

#[test]
fn an_unreachable_gcs_endpoint_is_exit_1_after_bounded_retries() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let g = Store::open(
        "gs://bucket/prefix",
        &opts(&[
            ("google_skip_signature", "true"),
            ("google_base_url", &format!("http://127.0.0.1:{port}")),
            ("google_allow_http", "true"),
            ("max_retries", "1"),
        ]),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let e = g.get("scores/x.parquet").expect_err("no server");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(e.exit_code(), 1);
    assert!(
        e.to_string()
            .contains("read of gs://bucket/prefix/scores/x.parquet"),
        "{e}"
    );
}

#[test]
fn multipart_uploads_round_trip_and_stop_when_cancelled() {
    let s = Store::open("memory://unit-multipart/out", &[])
        .unwrap()
        .with_multipart(10, 7);
    let data = Bytes::from((0..100u8).collect::<Vec<_>>());
    s.put("big", data.clone()).unwrap();
    assert_eq!(s.get("big").unwrap(), data);
    s.put("small", Bytes::from_static(b"tiny")).unwrap();
    assert_eq!(s.get("small").unwrap(), Bytes::from_static(b"tiny"));
    let e = s
        .put_cancellable("cancelled", data, &|| true)
        .expect_err("cancelled");
    assert_eq!(e.kind(), "interrupted");
    assert!(s.get_opt("cancelled").unwrap().is_none());
}

#[test]
fn hive_folders_become_typed_columns() {
    assert_eq!(
        hive_segments("usage/region=eu%20west/day=2026-11-24/part-0.parquet"),
        vec![
            ("region".to_string(), Some("eu west".to_string())),
            ("day".to_string(), Some("2026-11-24".to_string())),
        ]
    );
    assert_eq!(
        hive_segments("t/k=__HIVE_DEFAULT_PARTITION__/p.parquet"),
        vec![("k".to_string(), None)]
    );
    use polars::prelude::DataType;
    assert_eq!(hive_type(["1", "2"].into_iter()), DataType::Int64);
    assert_eq!(hive_type(["1", "2.5"].into_iter()), DataType::Float64);
    assert_eq!(
        hive_type(["2026-11-24", "2026-11-23"].into_iter()),
        DataType::Date
    );
    assert_eq!(hive_type(["true", "false"].into_iter()), DataType::Boolean);
    assert_eq!(hive_type(["1", "x"].into_iter()), DataType::String);
}
