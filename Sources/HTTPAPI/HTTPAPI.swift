/// The HTTP face of Switchboard: the REST API generated from `OpenAPI/openapi.yaml`
/// (swift-openapi-generator, Hummingbird transport), `/healthz`, `/metrics` and `/openapi.yaml`.
///
/// It owns HTTP concerns only — authentication headers, CORS, problem+json, idempotency
/// replay, body limits — and calls the domain (`Control`) for everything else. It imports
/// `Control`, Hummingbird and the OpenAPI runtime; never the store or the protocol modules.
public enum HTTPAPIModule {}
