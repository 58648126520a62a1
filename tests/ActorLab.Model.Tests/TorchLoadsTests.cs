using TorchSharp;
using static TorchSharp.torch;

namespace ActorLab.Model.Tests;

/// <summary>
/// TorchSharp's native library loads on this system (the build weakens the GLIBCXX_3.4.32 requirement where
/// the system libstdc++ lacks it) and computes correctly.
/// </summary>
public class TorchLoadsTests
{
    [Fact]
    public void MatmulAndBackwardRunOnCpu()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 }, 2, 2).requires_grad_();
        using var b = tensor(new float[] { 5, 6, 7, 8 }, 2, 2);
        using var c = a.matmul(b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());
        using var loss = c.sum();
        loss.backward();
        // d(sum(A B))/dA = 1 B^T: each row is the row sums of B.
        Assert.Equal(new float[] { 11, 15, 11, 15 }, a.grad!.data<float>().ToArray());
    }
}
