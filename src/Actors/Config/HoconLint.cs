using ActorLab.Model.Common;

namespace ActorLab.Actors.Config;

/// <summary>
/// Structural check of HOCON text before Akka's parser sees it: that parser is lenient (it accepts a missing
/// closing brace) and can even loop forever on an unclosed list, so a truncated or mistyped file must be caught
/// here, with the line of the culprit. The parser also recurses once per nesting level and per key segment
/// (`a.b.c`), and resolves `${...}` substitutions by recursion, so deep nesting and cyclic substitutions would
/// overflow the stack, which no handler can catch: files are limited to <see cref="MaxBytes"/>, nesting to
/// <see cref="MaxDepth"/> levels (braces, brackets and key segments together), and substitutions are refused
/// (ActorLab's files never need them: write the value).
/// </summary>
public static class HoconLint
{
    public const int MaxBytes = 1 << 20;
    public const int MaxDepth = 64;
    const string NotAValue = ":=`^?!@*&\\$";

    public static void Check(string text, string source)
    {
        if (text.Length > MaxBytes)
            throw new UserInputException($"{source}: {text.Length:N0} characters is more than a HOCON file may have ({MaxBytes:N0}).");
        var stack = new Stack<(char Open, int Line, int Weight)>();
        var line = 1;
        int depth = 0, keyDots = 0; // depth: levels the open brackets and their keys' segments add up to
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n') { line++; keyDots = 0; continue; }
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
            if (c == '.')
            {
                if (depth + ++keyDots > MaxDepth)
                    throw new UserInputException($"{source}: line {line}: nested deeper than {MaxDepth} levels.");
                continue;
            }
            if (c is ',' or '=' or ':' or ']' or '}') keyDots = 0; // not on spaces: Akka reads `a . b` as one dotted key
            if (c == '$' && i + 1 < text.Length && text[i + 1] == '{')
                throw new UserInputException($"{source}: line {line}: substitutions (${{...}}) are not supported here; write the value itself.");
            // inside a list Akka's parser makes no progress on a character that cannot start a value: it would loop forever
            if (stack.Count > 0 && stack.Peek().Open == '[' && NotAValue.Contains(c))
                throw new UserInputException($"{source}: line {line}: '{c}' cannot start a value in a list.");
            switch (c)
            {
                case '{' or '[':
                    var weight = 1 + (c == '{' ? keyDots : 0);
                    keyDots = 0;
                    depth += weight;
                    if (depth > MaxDepth) throw new UserInputException($"{source}: line {line}: nested deeper than {MaxDepth} levels.");
                    stack.Push((c, line, weight));
                    break;
                case '}' or ']':
                    var want = c == '}' ? '{' : '[';
                    if (stack.Count == 0) throw new UserInputException($"{source}: line {line}: '{c}' without a matching '{want}'.");
                    var (open, openLine, w) = stack.Pop();
                    depth -= w;
                    if (open != want)
                        throw new UserInputException($"{source}: line {line}: '{c}' closes the '{open}' opened on line {openLine}.");
                    break;
            }
        }
        if (stack.Count > 0)
        {
            var (open, openLine, _) = stack.Peek();
            throw new UserInputException($"{source}: line {openLine}: '{open}' is never closed.");
        }
    }
}
