//! Tests of the definitions (`spec`, `param`), outcomes and the batch adapter.

use crate::prelude::*;

const DAYS: ParamDef = ParamDef::required("days", "Window in days.");
const GRACE: ParamDef = ParamDef::optional("grace", "Extra days.", "0");
const WITHIN: ConditionDef = ConditionDef::new("within_{days}_days", "Recent.", &[DAYS, GRACE]);
const NAME: ParamDef = ParamDef::required("name", "A name.");
const NAMED: ConditionDef = ConditionDef::new("named", "Has a name.", &[NAME]);
const CHECK: CheckTypeDef =
    CheckTypeDef::new("t.recent", "Recency.", "within_7_days", &[WITHIN, NAMED]);
const PLUGIN: PluginDef = PluginDef::new("p", "1.0.0", "Test plugin.", &[CHECK]);

fn control(check_type: &str, pass_condition: &str, params: &[(&str, &str)]) -> Control {
    Control {
        id: "c".into(),
        framework: "f".into(),
        check_type: check_type.into(),
        pass_condition: pass_condition.into(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn context() -> Context {
    Context::new(
        Repository {
            id: "r".into(),
            name: "r".into(),
            languages: vec![],
        },
        ScanInfo {
            tools: vec![],
            commit: None,
            branch: None,
            completed_at: None,
            now: 0,
        },
        &[],
    )
}

#[test]
fn describe_from_definitions() {
    assert!(PLUGIN.problems().is_empty(), "{:?}", PLUGIN.problems());
    let info = PLUGIN.info();
    assert_eq!(info.check_types.len(), 1);
    let spec = &info.check_types[0];
    assert!(
        spec.description
            .ends_with("Default pass condition (used when none is given): `within_7_days`.")
    );
    assert_eq!(
        spec.pass_conditions[0].params[1].default_value.as_deref(),
        Some("0")
    );
}

#[test]
fn resolve_selects_condition_and_binds() {
    let c = control("t.recent", "", &[]);
    let (_, r) = PLUGIN.resolve(&c).unwrap();
    assert_eq!(
        (r.condition.name, r.pass_condition, r.bound),
        (WITHIN.name, "within_7_days", Some("7"))
    );
    let c = control("t.recent", "within_30_days", &[("grace", "2")]);
    let (_, r) = PLUGIN.resolve(&c).unwrap();
    assert_eq!(r.bound, Some("30"));
    assert_eq!(GRACE.parse::<u32>(&c), Ok(2));
    assert_eq!(DAYS.parse_str::<u32>(r.bound.unwrap()), Ok(30));
}

#[test]
fn resolve_errors() {
    let err = |c: Control| PLUGIN.resolve(&c).unwrap_err();
    assert_eq!(
        err(control("nope", "", &[])),
        CheckError::UnknownCheckType("nope".into())
    );
    assert_eq!(
        err(control("t.recent", "within_x", &[])),
        CheckError::UnknownPassCondition("within_x".into())
    );
    // The placeholder is bound from the name, never passed as a param.
    let e = err(control("t.recent", "within_7_days", &[("days", "3")]));
    assert!(matches!(e, CheckError::InvalidParam(m) if m.starts_with("days: unknown parameter")));
    let e = err(control("t.recent", "named", &[]));
    assert_eq!(
        e,
        CheckError::InvalidParam("name: required parameter is missing".into())
    );
}

#[test]
fn problems_are_reported() {
    const BAD: CheckTypeDef = CheckTypeDef::new(
        "b",
        "B.",
        "missing",
        &[ConditionDef::new("x_{n}", "X.", &[])],
    );
    const BROKEN: PluginDef = PluginDef::new("p", "1", "P.", &[BAD, BAD]);
    let problems = BROKEN.problems();
    assert_eq!(problems.len(), 5, "{problems:?}");
}

#[test]
fn outcome_constructors() {
    let rows: Vec<u32> = (0..150).collect();
    let fail = Outcome::fail("bad", rows);
    assert_eq!(
        (fail.status, fail.score, fail.findings.len()),
        (Status::Fail, 0, MAX_CITED_IDS)
    );
    assert_eq!(Outcome::partial(250, "p", vec![]).score, 100);
    assert_eq!(Outcome::pass("ok").score, 100);
    assert_eq!(Outcome::not_applicable("n/a").status, Status::NotApplicable);
}

struct Scores;
impl Plugin for Scores {
    fn describe() -> PluginInfo {
        PLUGIN.info()
    }
    fn evaluate(_ctx: &Context, control: &Control) -> Result<Outcome, CheckError> {
        let score: u8 = control.parse_param_or("score", 100)?;
        Ok(Outcome {
            status: Status::Pass,
            score,
            reason: String::new(),
            findings: vec![],
        })
    }
}

#[test]
fn batch_has_one_result_per_control_in_order() {
    let controls = [
        control("t", "", &[("score", "100")]),
        control("t", "", &[("score", "101")]),
        control("t", "", &[("score", "x")]),
    ];
    let results = crate::evaluate_batch::<Scores>(&context(), &controls);
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok());
    assert!(matches!(&results[1], Err(CheckError::Internal(_))));
    assert!(matches!(&results[2], Err(CheckError::InvalidParam(_))));
}

const COUNT_SCA: CheckTypeDef =
    CheckTypeDef::new("t.sca", "SCA.", "n", &[N]).reads(Categories::SCA, FindingFields::empty());
const SAST_RULES: CheckTypeDef = CheckTypeDef::new("t.rules", "Rules.", "n", &[N])
    .reads(Categories::SAST, FindingFields::RULE_ID);
const N: ConditionDef = ConditionDef::new("n", "Counts.", &[]);
const TWO: PluginDef = PluginDef::new("two", "1", "Two checks.", &[COUNT_SCA, SAST_RULES]);

/// Counts the findings it sees and joins their rule ids when it may read them.
struct Two;
impl Plugin for Two {
    fn describe() -> PluginInfo {
        TWO.info()
    }
    fn evaluate(ctx: &Context, control: &Control) -> Result<Outcome, CheckError> {
        let (check, _) = TWO.resolve(control)?;
        let seen = ctx.findings().count();
        let rules: Vec<&str> = if check.fields.contains(FindingFields::RULE_ID) {
            ctx.findings().map(|f| f.rule_id()).collect()
        } else {
            vec![]
        };
        Ok(Outcome::pass(format!("{seen} {}", rules.join(","))))
    }
}

#[test]
fn each_control_sees_only_what_its_check_type_declares() {
    let mut sast = FindingData::new(Category::Sast, Severity::High);
    sast.rule_id = "r1".into();
    let sca = FindingData::new(Category::Sca, Severity::Low);
    let mut ctx = context();
    ctx = Context::new(
        ctx.repository.clone(),
        ctx.scan.clone(),
        &[sast, sca.clone(), sca],
    );
    let batch = [control("t.sca", "", &[]), control("t.rules", "", &[])];
    let reasons: Vec<String> = crate::evaluate_batch::<Two>(&ctx, &batch)
        .into_iter()
        .map(|r| r.map(|o| o.reason).unwrap_or_default())
        .collect();
    assert_eq!(reasons, ["2 ", "1 r1"]);
}
