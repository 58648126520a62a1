using System.Globalization;
using Akka.Configuration.Hocon;
using ActorLab.Model.Common;
using AkkaConfig = Akka.Configuration.Config;

namespace ActorLab.Actors.Config;

/// <summary>
/// Reads one setting with its type and range, or throws a <see cref="UserInputException"/> naming the key (and the
/// file, when there is one). Every settings record reads through this, so a bad value has one kind of error.
/// </summary>
public sealed class ConfigValues(AkkaConfig config, string? source = null)
{
    public UserInputException Error(string path, string what) => new($"{(source == null ? "" : source + ": ")}{path}: {what}.");

    /// <summary>`[]`: Akka's HoconValue does not count an empty list as an array.</summary>
    public static bool IsEmptyList(HoconValue v) => v.Values.Count > 0 && v.Values.All(x => x is HoconArray a && a.Count == 0);

    string Scalar(string path)
    {
        var value = config.GetValue(path);
        if (value == null || value.Values.Count == 0) throw Error(path, "missing");
        if (value.IsObject() || value.IsArray() || IsEmptyList(value)) throw Error(path, "expected a single value");
        return value.GetString() ?? throw Error(path, "expected a value, got null");
    }

    public string String(string path) => Scalar(path);

    public string NonEmpty(string path)
    {
        var s = Scalar(path);
        return string.IsNullOrWhiteSpace(s) ? throw Error(path, "must not be empty") : s;
    }

    public string OneOf(string path, params string[] allowed)
    {
        var s = Scalar(path);
        return allowed.Contains(s) ? s : throw Error(path, $"'{s}' is not one of {string.Join(", ", allowed)}");
    }

    public bool Bool(string path)
    {
        var s = Scalar(path);
        return s switch
        {
            "true" or "on" or "yes" => true,
            "false" or "off" or "no" => false,
            _ => throw Error(path, $"expected true or false, got '{s}'"),
        };
    }

    public int Int(string path, int min, int max)
    {
        var s = Scalar(path);
        if (!long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
            throw Error(path, $"expected a whole number, got '{s}'");
        if (n < min || n > max) throw Error(path, $"{n} is not in {min}..{max}");
        return (int)n;
    }

    /// <summary>A positive duration such as 2s or 500ms.</summary>
    public TimeSpan Duration(string path)
    {
        var s = Scalar(path);
        TimeSpan t;
        try { t = config.GetTimeSpan(path, allowInfinite: false); }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException or InvalidOperationException or NullReferenceException)
        {
            throw Error(path, $"expected a duration such as 2s or 500ms, got '{s}'");
        }
        if (t <= TimeSpan.Zero) throw Error(path, $"{s} must be longer than zero");
        return t;
    }

    public IReadOnlyList<string> List(string path)
    {
        var value = config.GetValue(path);
        if (value == null || value.Values.Count == 0) throw Error(path, "missing");
        if (IsEmptyList(value)) return [];
        if (!value.IsArray()) throw Error(path, "expected a list [ ... ]");
        return value.GetArray().Select((v, i) => v.IsString() ? v.GetString() : throw Error($"{path}[{i}]", "expected a single value")).ToList();
    }
}
