//! Builds the Cedar request and entity store for one evaluation: the org, the principal (user
//! with their role in this org), the resource (always a child of the org) and the context.

use super::{EvalInput, PrincipalKind};
use cedar_policy::{
    Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, Request, RestrictedExpression,
    Schema,
};
use std::{
    collections::{HashMap, HashSet},
    str::FromStr,
};

pub struct BuiltRequest {
    pub request: Request,
    pub entities: Entities,
}

fn uid(type_name: &str, id: &str) -> anyhow::Result<EntityUid> {
    Ok(EntityUid::from_type_name_and_id(
        EntityTypeName::from_str(type_name)?,
        EntityId::new(id),
    ))
}

pub fn build(schema: &Schema, input: &EvalInput<'_>) -> anyhow::Result<BuiltRequest> {
    let org_uid = uid("Org", &input.org.id)?;
    let org = Entity::new(
        org_uid.clone(),
        HashMap::from([(
            "plan".to_owned(),
            RestrictedExpression::new_string(input.org.plan.clone()),
        )]),
        HashSet::new(),
    )?;
    let mut attrs = HashMap::from([
        (
            "email".to_owned(),
            RestrictedExpression::new_string(input.email.to_owned()),
        ),
        (
            "role".to_owned(),
            RestrictedExpression::new_string(input.role.to_owned()),
        ),
    ]);
    let principal_type = match input.principal {
        PrincipalKind::User => "User",
        PrincipalKind::Agent { kind, name } => {
            attrs.insert(
                "kind".to_owned(),
                RestrictedExpression::new_string(kind.to_owned()),
            );
            attrs.insert(
                "name".to_owned(),
                RestrictedExpression::new_string(name.to_owned()),
            );
            "Agent"
        }
        PrincipalKind::ScimConnection { name } => {
            attrs.insert(
                "name".to_owned(),
                RestrictedExpression::new_string(name.to_owned()),
            );
            "ScimConnection"
        }
    };
    let principal_uid = uid(principal_type, input.user_id)?;
    let principal = Entity::new(
        principal_uid.clone(),
        attrs,
        HashSet::from([org_uid.clone()]),
    )?;
    let (resource_type, resource_id) = input.resource.cedar_parts(&input.org.id);
    let resource_uid = uid(resource_type, &resource_id)?;
    let mut entities = vec![org, principal];
    if resource_uid != org_uid && resource_uid != principal_uid {
        entities.push(Entity::new_no_attrs(
            resource_uid.clone(),
            HashSet::from([org_uid.clone()]),
        ));
    }

    let strings = |items: &mut dyn Iterator<Item = String>| {
        RestrictedExpression::new_set(items.map(RestrictedExpression::new_string))
    };
    let mut context = vec![
        (
            "org".to_owned(),
            RestrictedExpression::new_entity_uid(org_uid),
        ),
        (
            "credential".to_owned(),
            RestrictedExpression::new_string(input.credential.to_owned()),
        ),
        (
            "scopes".to_owned(),
            strings(&mut input.scopes.effective().into_iter().map(str::to_owned)),
        ),
    ];
    if let Some(role) = &input.extras.grants_role {
        context.push((
            "grants_role".to_owned(),
            RestrictedExpression::new_string(role.clone()),
        ));
    }
    if let Some(requested) = &input.extras.requested_scopes {
        context.push((
            "requested_scopes".to_owned(),
            strings(&mut requested.iter().cloned()),
        ));
    }
    if let Some(requester) = &input.extras.ssh_requester {
        context.push((
            "ssh_requester".to_owned(),
            RestrictedExpression::new_entity_uid(uid("User", requester)?),
        ));
    }

    let action_uid = uid("Action", input.action.cedar_id())?;
    let request = Request::new(
        principal_uid,
        action_uid,
        resource_uid,
        Context::from_pairs(context)?,
        Some(schema),
    )?;
    let entities = Entities::from_entities(entities, Some(schema))?;
    Ok(BuiltRequest { request, entities })
}
