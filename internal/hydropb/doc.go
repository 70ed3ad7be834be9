// Package hydropb is the Go code generated from proto/hydrosphere
// (`make proto`): Hydrosphere's serving contract (tensors, model fields and
// signatures) and its model runtime's PredictionService, which weir serve
// serves on APP_PORT (hosts/endpoint). The .proto files are weir's own,
// written from Hydrosphere's published description with its package names
// and field numbers, so that Hydrosphere's clients call weir unchanged.
package hydropb
