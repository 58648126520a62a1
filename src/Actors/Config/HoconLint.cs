using ActorLab.Model.Common;

namespace ActorLab.Actors.Config;

/// <summary>
/// Structural check of HOCON text before Akka's parser sees it: that parser is lenient (it accepts a missing
/// closing brace) and can even loop forever on an unclosed list, so a truncated or mistyped file must be caught
/// here, with the line of the culprit.
/// </summary>
public static class HoconLint
{
    public static void Check(string text, string source)
    {
        var stack = new Stack<(char Open, int Line)>();
        var line = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n') { line++; continue; }
            if (c == '#' || (c == '/' && i + 1 < text.Length && text[i + 1] == '/'))
            {
                while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                continue;
            }
            if (c == '"')
            {
                var startLine = line;
                if (i + 2 < text.Length && text[i + 1] == '"' && text[i + 2] == '"')
                {
                    var end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                    if (end < 0) throw new UserInputException($"{source}: line {startLine}: unclosed \"\"\" string.");
                    line += text.AsSpan(i, end - i).Count('\n');
                    i = end + 2;
                    continue;
                }
                i++;
                while (i < text.Length && text[i] != '"' && text[i] != '\n')
                {
                    if (text[i] == '\\') i++;
                    i++;
                }
                if (i >= text.Length || text[i] != '"') throw new UserInputException($"{source}: line {startLine}: unclosed \" string.");
                continue;
            }
            switch (c)
            {
                case '{' or '[':
                    stack.Push((c, line));
                    break;
                case '}' or ']':
                    var want = c == '}' ? '{' : '[';
                    if (stack.Count == 0) throw new UserInputException($"{source}: line {line}: '{c}' without a matching '{want}'.");
                    var (open, openLine) = stack.Pop();
                    if (open != want)
                        throw new UserInputException($"{source}: line {line}: '{c}' closes the '{open}' opened on line {openLine}.");
                    break;
            }
        }
        if (stack.Count > 0)
        {
            var (open, openLine) = stack.Peek();
            throw new UserInputException($"{source}: line {openLine}: '{open}' is never closed.");
        }
    }
}
