//! What the server tells identity providers about itself (RFC 7643 §5–7): its
//! `ServiceProviderConfig`, the `ResourceTypes` it serves and their `Schemas` (the RFC's own
//! schema definitions, from the `scim_v2` crate).

use super::{
    query::MAX_COUNT,
    resource::{ENTERPRISE_URN, GROUP_URN, USER_URN},
};
use serde_json::{Value, json};

const SPC_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC_URN],
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_COUNT },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "The connection's token (st-…), created by an org admin under \
                            /api/v1/orgs/{org_id}/scim/connections",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RESOURCE_TYPE_URN],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A person; their org membership follows their mapped groups",
            "schema": USER_URN,
            "schemaExtensions": [{ "schema": ENTERPRISE_URN, "required": false }],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
        }),
        json!({
            "schemas": [RESOURCE_TYPE_URN],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "An identity-provider group; role mappings turn groups into roles",
            "schema": GROUP_URN,
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
        }),
    ]
}

pub fn schemas(base: &str) -> Vec<Value> {
    let schemas =
        scim_v2::models::scim_schema::get_schemas(vec!["user", "enterprise_user", "group"])
            .expect("the crate's bundled schemas parse");
    schemas
        .into_iter()
        .map(|schema| {
            let mut value = serde_json::to_value(&schema).expect("a schema serializes");
            let id = schema.id.clone();
            if let Value::Object(map) = &mut value {
                map.insert("schemas".into(), json!([SCHEMA_URN]));
                map.insert(
                    "meta".into(),
                    json!({ "resourceType": "Schema", "location": format!("{base}/Schemas/{id}") }),
                );
            }
            value
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_schemas_are_the_three_served() {
        let ids: Vec<String> = schemas("/scim/v2")
            .iter()
            .map(|s| s["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(ids, vec![USER_URN, ENTERPRISE_URN, GROUP_URN]);
        assert_eq!(resource_types("/scim/v2").len(), 2);
        assert_eq!(
            service_provider_config("/scim/v2")["patch"]["supported"],
            json!(true)
        );
    }
}
