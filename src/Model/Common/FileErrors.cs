using System.Text.Json;

namespace ActorLab.Model.Common;

/// <summary>
/// Describes why a file could not be read without echoing its bytes: a parser's own message can quote the damaged
/// text (binary garbage, terminal escapes), so errors name the position instead.
/// </summary>
public static class FileErrors
{
    /// <summary>"invalid JSON at line 3, byte 14 (at $.run.lr)".</summary>
    public static string Json(JsonException e)
    {
        var where = e.LineNumber is { } line ? $" at line {line + 1}, byte {(e.BytePositionInLine ?? 0) + 1}" : "";
        var path = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $" (at {e.Path})";
        var what = e.Message.Contains("could not be converted", StringComparison.Ordinal) ? "a value of the wrong type" : "invalid JSON";
        return what + where + path;
    }
}
