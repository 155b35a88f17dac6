// oidc-provider's own in-memory storage, one store per call; the package ships no types for it.
declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  export function createMemoryAdapter(clockTolerance?: number): import('oidc-provider').AdapterFactory;
}
