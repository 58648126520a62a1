using TorchSharp;

namespace ActorLab.Model.Common;

/// <summary>
/// Scalars that live as long as the process. TorchSharp 0.107 passes a Scalar's native handle to libtorch without
/// keeping the managed Scalar alive, so an implicit one (a double argument, or the alpha = 1 that `add(Tensor)` and
/// `add(Scalar)` make inside TorchSharp) can be finalized by a GC on another thread while libtorch still reads it:
/// "Unknown scalar type" or "Expected false to be true" from add. It failed a run attempt in a 12-run CPU sweep with
/// two slots; with a GC forced in a loop, 1 in about 2,400 such adds failed (`ScalarLifetimeTests` reproduces it). Hot paths pass every
/// Scalar explicitly: these static ones (rooted, never finalized), or per-call ones under `using`.
/// </summary>
public static class TorchScalars
{
    /// <summary>The alpha of a plain add: a + 1 * b.</summary>
    public static readonly Scalar One = 1;
}
