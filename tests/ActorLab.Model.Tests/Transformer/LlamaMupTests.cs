using ActorLab.Model.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace ActorLab.Model.Tests.Transformer;

// torch.manual_seed and TrainerCore seed the process-wide generator: not alongside other tests that do
[Collection(ActorLab.Model.Tests.Training.TorchGlobalRng.Name)]
public class LlamaMupTests
{
    static LlamaMupTests() => torch.set_num_threads(1);

    static LlamaMupConfig Small(int width = 32, int layers = 2, int baseWidth = 16, int vocab = 40) =>
        new() { VocabSize = vocab, Width = width, Layers = layers, BaseWidth = baseWidth, MaxSeqLen = 16 };

    [Theory]
    // d = floor(sqrt((P - 320000) / (12 L))) rounded down to 16s: (1e6-320000)/48 = 14166.7 -> 119 -> 112.
    [InlineData(1_000_000, 4, 112)]
    // (10e6-320000)/(12*8) = 100833 -> 317 -> 304.
    [InlineData(10_000_000, 8, 304)]
    // budget below the 320000 offset clamps to the minimum width.
    [InlineData(100_000, 2, 16)]
    [InlineData(320_000 + 12 * 1 * 64 * 64, 1, 64)]
    public void WidthFollowsSizingFormula(long budget, int layers, int expected) =>
        Assert.Equal(expected, LlamaMupConfig.WidthFor(budget, layers));

    [Fact]
    public void BaseWidthIsWidthOfQuarterMillionPerLayerBudget()
    {
        // L=4: budget 900000 -> (900000-320000)/48 = 12083 -> 109 -> 96.
        Assert.Equal(96, LlamaMupConfig.BaseWidthFor(4));
        var cfg = LlamaMupConfig.FromBudget(10_000_000, 4, 3000);
        Assert.Equal(448, cfg.Width); // (9.68e6/48) = 201666 -> 449 -> 448
        Assert.Equal(448.0 / 96, cfg.WidthMult, 12);
        Assert.Equal(28, cfg.Heads);
    }

    [Fact]
    public void ParameterCountMatchesModuleAndFormula()
    {
        var cfg = Small();
        using var model = new LlamaMup(cfg);
        long d = 32, v = 40, l = 2;
        long expected = 2 * v * d + l * (4 * d * d + 3 * 4 * d * d + 2 * d) + d;
        Assert.Equal(expected, model.ParameterCount);
        Assert.Equal(expected, cfg.ParameterCount);
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("embed_tokens.weight", names);
        Assert.Contains("layers.1.self_attn.o_proj.weight", names);
        Assert.Contains("layers.0.mlp.down_proj.weight", names);
        Assert.Contains("layers.0.post_attention_layernorm.weight", names);
        Assert.Contains("norm.weight", names);
        Assert.Contains("lm_head.weight", names);
    }

    [Fact]
    public void MupInitScalesWithWidthMultiplier()
    {
        torch.manual_seed(7);
        var cfg = Small(width: 256, layers: 2, baseWidth: 64, vocab: 500); // m = 4
        using var model = new LlamaMup(cfg);
        double Std(Tensor t) => t.std().item<float>();
        Assert.Equal(0.02, Std(model.embed_tokens.weight!), 3);
        Assert.Equal(0.02, Std(model.lm_head.weight!), 3);
        Assert.Equal(0.02 / 2, Std(model.layers[0].self_attn.q_proj.weight!), 3);
        Assert.Equal(0.02 / 2, Std(model.layers[1].mlp.down_proj.weight!), 3);
        Assert.Equal(0.02 / 2 / 2, Std(model.layers[0].self_attn.o_proj.weight!), 3); // / sqrt(2 L) = / 2
        Assert.Equal(1.0, model.norm.weight.mean().item<float>(), 6);
    }

    [Fact]
    public void MupGroupsSplitHiddenMatricesFromTheRest()
    {
        var cfg = Small(width: 64, baseWidth: 16); // m = 4
        using var model = new LlamaMup(cfg);
        var groups = MupParamGroups.Build(model);
        var hidden = groups.Single(g => g.Name == "hidden");
        var other = groups.Single(g => g.Name == "other");
        Assert.Equal(0.25, hidden.LrScale);
        Assert.Equal(4.0, hidden.WdScale);
        Assert.Equal((1.0, 1.0), (other.LrScale, other.WdScale));
        Assert.Equal(2 * 7, hidden.Params.Count);
        Assert.All(hidden.Params, p => Assert.Equal(2, p.Param.dim()));
        Assert.Equal(new[] { "embed_tokens.weight", "lm_head.weight", "norm.weight" },
            other.Params.Select(p => p.Name).Where(n => !n.StartsWith("layers")).Order());
        Assert.Equal(model.ParameterCount, groups.Sum(g => g.Params.Sum(p => p.Param.numel())));
    }

    [Fact]
    public void CausalFutureTokensDoNotChangeEarlierLogits()
    {
        torch.manual_seed(1);
        using var model = new LlamaMup(Small());
        using var _ = no_grad();
        using var a = tensor(new long[] { 1, 5, 7, 9, 11, 13 }, [1, 6]);
        using var b = tensor(new long[] { 1, 5, 7, 9, 30, 2 }, [1, 6]);
        using var la = model.forward(a);
        using var lb = model.forward(b);
        Assert.True(la.narrow(1, 0, 4).allclose(lb.narrow(1, 0, 4), rtol: 0, atol: 1e-6));
        Assert.False(la.narrow(1, 4, 1).allclose(lb.narrow(1, 4, 1)));
    }

    /// <summary>The block computes attention with muP scale 1/head_dim, RoPE in HF layout, SwiGLU and RMSNorm, checked by hand.</summary>
    [Fact]
    public void BlockMatchesHandWrittenLlamaWithMupAttentionScale()
    {
        torch.manual_seed(3);
        var cfg = Small(width: 32, layers: 1);
        using var model = new LlamaMup(cfg);
        using var _ = no_grad();
        var block = model.layers[0];
        // Make the attention sharp enough that a wrong scale shows.
        block.self_attn.q_proj.weight!.mul_(20);
        block.self_attn.k_proj.weight!.mul_(20);
        using var x = randn(2, 6, 32);
        using var got = block.forward(x);

        long T = 6, H = 2, hd = 16;
        Tensor Rms(Tensor y) => y * rsqrt(y.pow(2).mean([-1L], keepdim: true) + cfg.NormEps);
        Tensor Rope(Tensor y) // [B,H,T,hd]
        {
            var inv = 1.0 / pow(10000.0, arange(0, hd, 2, dtype: ScalarType.Float64) / hd);
            var ang = outer(arange(T, dtype: ScalarType.Float64), inv);
            var c = cat([ang.cos(), ang.cos()], -1).to_type(ScalarType.Float32);
            var s = cat([ang.sin(), ang.sin()], -1).to_type(ScalarType.Float32);
            var rot = cat([-y.narrow(-1, hd / 2, hd / 2), y.narrow(-1, 0, hd / 2)], -1);
            return y * c + rot * s;
        }
        var h = Rms(x);
        Tensor Split(Tensor y) => y.view(2, T, H, hd).transpose(1, 2);
        var q = Rope(Split(h.matmul(block.self_attn.q_proj.weight!.t())));
        var k = Rope(Split(h.matmul(block.self_attn.k_proj.weight!.t())));
        var v = Split(h.matmul(block.self_attn.v_proj.weight!.t()));
        var scores = q.matmul(k.transpose(-1, -2)) / hd; // muP: 1/head_dim
        var mask = ones(T, T).triu(1).to_type(ScalarType.Bool);
        var att = scores.masked_fill(mask, double.NegativeInfinity).softmax(-1).matmul(v);
        var attnOut = att.transpose(1, 2).reshape(2, T, 32).matmul(block.self_attn.o_proj.weight!.t());
        var r = x + attnOut;
        var m = Rms(r);
        var mlp = (nn.functional.silu(m.matmul(block.mlp.gate_proj.weight!.t())) * m.matmul(block.mlp.up_proj.weight!.t()))
            .matmul(block.mlp.down_proj.weight!.t());
        var expected = r + mlp;
        Assert.True(got.allclose(expected, rtol: 1e-4, atol: 1e-5), $"max diff {(got - expected).abs().max().item<float>()}");

        // With 1/sqrt(head_dim) the result differs: the scale is really 1/head_dim.
        var wrong = q.matmul(k.transpose(-1, -2)) / Math.Sqrt(hd);
        var attWrong = wrong.masked_fill(mask, double.NegativeInfinity).softmax(-1).matmul(v);
        Assert.False(attWrong.allclose(att, rtol: 1e-3, atol: 1e-4));
    }

    [Fact]
    public void ReadoutDividesByWidthMultiplier()
    {
        torch.manual_seed(5);
        var cfg = Small(width: 64, baseWidth: 16, layers: 1);
        using var model = new LlamaMup(cfg);
        using var _ = no_grad();
        using var ids = tensor(new long[] { 1, 2, 3 }, [1, 3]);
        Tensor? last = null;
        using var logits = model.Forward(ids, (l, h) => { if (l == 1) last = h.clone().DetachFromDisposeScope(); });
        using var expected = model.lm_head.forward(model.norm.forward(last!) / 4.0);
        Assert.True(logits.allclose(expected, rtol: 1e-5, atol: 1e-6));
        last!.Dispose();
    }
}
