@_exported import TensorCore
@_exported import SessionData
