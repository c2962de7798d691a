use super::*;

fn opts(accounts: usize, seed: u64) -> GenerateOptions {
    GenerateOptions {
        accounts,
        seed,
        as_of: NaiveDate::from_ymd_opt(2024, 6, 30).expect("valid date"),
        usage_days: USAGE_DAYS,
    }
}

fn read_all(store: &Store, table: &str) -> DataFrame {
    let mut frames = Vec::new();
    for obj in store.list(table).expect("list") {
        let bytes = store.get(&obj.rel).expect("get");
        let df = ParquetReader::new(std::io::Cursor::new(bytes.to_vec()))
            .finish()
            .expect("parquet");
        frames.push(df);
    }
    let mut out = frames.remove(0);
    for f in frames {
        out.vstack_mut(&f).expect("vstack");
    }
    out
}

#[test]
fn zero_accounts_write_empty_tables_with_schema() {
    let store = Store::open("memory://generate-zero", &[]).expect("store");
    let report = generate(&opts(0, 1), &store).expect("generate");
    assert_eq!(report.tables.len(), 6);
    assert!(report.tables.iter().all(|(_, n)| *n == 0));
    let usage = read_all(&store, "usage");
    assert_eq!(usage.height(), 0);
    assert_eq!(usage.schema().get("date"), Some(&DataType::Date),);
    let tickets = read_all(&store, "support_tickets");
    assert_eq!(
        tickets.schema().get("opened_at"),
        Some(&DataType::Datetime(
            TimeUnit::Microseconds,
            Some(TimeZone::UTC)
        )),
    );
}

#[test]
fn same_seed_same_bytes() {
    let a = Store::open("memory://generate-a", &[]).expect("store");
    let b = Store::open("memory://generate-b", &[]).expect("store");
    let c = Store::open("memory://generate-c", &[]).expect("store");
    let ra = generate(&opts(300, 7), &a).expect("generate");
    let rb = generate(&opts(300, 7), &b).expect("generate");
    let rc = generate(&opts(300, 8), &c).expect("generate");
    assert_eq!(ra, rb);
    assert_ne!(ra, rc);
    for t in TABLES {
        let x = a.get(&format!("{t}/part-00000.parquet")).expect("a");
        let y = b.get(&format!("{t}/part-00000.parquet")).expect("b");
        assert_eq!(x, y, "{t}");
    }
    assert_ne!(
        a.get("usage/part-00000.parquet").expect("a"),
        c.get("usage/part-00000.parquet").expect("c")
    );
}

#[test]
fn shape_of_the_data() {
    let store = Store::open("memory://generate-shape", &[]).expect("store");
    let o = opts(2000, 42);
    let report = generate(&o, &store).expect("generate");
    let rows: std::collections::HashMap<_, _> = report.tables.iter().cloned().collect();
    assert_eq!(rows["accounts"], 2000);
    let usage_per_account = rows["usage"] as f64 / 2000.0;
    assert!(
        (45.0..75.0).contains(&usage_per_account),
        "{usage_per_account}"
    );
    let churn_share = rows["churn_labels"] as f64 / 2000.0;
    assert!((0.06..0.14).contains(&churn_share), "{churn_share}");
    let usage = read_all(&store, "usage");
    let as_of = epoch_days(o.as_of);
    let dates = usage
        .column("date")
        .expect("date")
        .cast(&DataType::Int32)
        .expect("cast");
    let max = dates.i32().expect("i32").max().expect("max");
    assert_eq!(max, as_of + DAYS_AFTER);
    let accounts = read_all(&store, "accounts");
    let ids = accounts
        .column("customer_id")
        .expect("id")
        .str()
        .expect("str")
        .clone();
    let v: Vec<&str> = ids.iter().map(|x| x.unwrap_or("")).collect();
    let mut sorted = v.clone();
    sorted.sort_unstable();
    assert_eq!(v, sorted);
    assert_eq!(v[0], "C0000001");
}
