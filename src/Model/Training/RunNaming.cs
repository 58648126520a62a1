using System.Globalization;

namespace ActorLab.Model.Training;

/// <summary>
/// Run directory names as the reference writes them (SPEC 4):
/// mup_n{N}_p{params}_omin{min}_omax{max}_wd{wd}_l{L}_lr{lr}_beta1{b1}_{sf|adamw}[_r{R}][_hr{h}][_curr][_cot].
/// Floats print as Python's str(float) (0.001, 1e-05, 0.0). adamw_linear is marked `adamw_linear` so it does
/// not collide with cosine AdamW (the reference only had one AdamW schedule per name).
/// </summary>
public static class RunNaming
{
    public static string Name(RunConfig c)
    {
        var opt = c.Optimizer switch
        {
            "schedulefree" => "sf",
            "adamw_cosine" => "adamw",
            "adamw_linear" => "adamw_linear",
            _ => c.Optimizer,
        };
        var name = $"mup_n{c.NProfiles}_p{c.NParams}_omin{c.MinOrder}_omax{c.MaxOrder}_wd{Py(c.WeightDecay)}_l{c.Layers}" +
                   $"_lr{Py(c.Lr)}_beta1{Py(c.Beta1)}_{opt}";
        if (c.Relations > 0) name += $"_r{c.Relations}";
        if (Math.Abs(c.HopRatio - 0.1) > 1e-12) name += $"_hr{Py(c.HopRatio)}";
        if (c.Curriculum) name += "_curr";
        if (c.Cot) name += "_cot";
        return name;
    }

    /// <summary>Python's str(float): shortest round-trip digits, scientific below 1e-4 or from 1e16.</summary>
    public static string Py(double x)
    {
        if (double.IsNaN(x)) return "nan";
        if (double.IsInfinity(x)) return x > 0 ? "inf" : "-inf";
        var a = Math.Abs(x);
        if (a != 0 && (a < 1e-4 || a >= 1e16))
        {
            var s = x.ToString("E16", CultureInfo.InvariantCulture);
            var r = x.ToString("R", CultureInfo.InvariantCulture); // e.g. 1E-05
            var parts = r.Contains('E') ? r.Split('E') : s.Split('E');
            var mant = parts[0];
            if (!r.Contains('E'))
            {
                // "R" printed positional; rebuild the shortest mantissa from it
                var exp10 = (int)Math.Floor(Math.Log10(a));
                mant = (x / Math.Pow(10, exp10)).ToString("R", CultureInfo.InvariantCulture);
                parts = [mant, exp10.ToString(CultureInfo.InvariantCulture)];
            }
            var e = int.Parse(parts[1], CultureInfo.InvariantCulture);
            return $"{mant}e{(e < 0 ? "-" : "+")}{Math.Abs(e):00}";
        }
        var p = x.ToString("R", CultureInfo.InvariantCulture);
        if (p.Contains('E'))
            p = x.ToString("0.####################", CultureInfo.InvariantCulture);
        if (!p.Contains('.')) p += ".0";
        return p;
    }
}
