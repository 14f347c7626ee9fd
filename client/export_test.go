package client

// ServiceConfig exposes serviceConfig to the package's external tests.
var ServiceConfig = serviceConfig
