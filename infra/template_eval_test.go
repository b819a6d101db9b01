// Package infra holds the deployment's tests: the SAM template's wiring, the Lambda zips, the
// API Gateway fixtures. It has no non-test code: what it checks lives in template.yaml,
// infra/deploy.mk and testdata/.
package infra

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const templatePath = "../template.yaml"

// rawTemplate reads template.yaml into plain maps and slices, turning CloudFormation's short tags
// into their long form (!Ref x → {"Ref": x}, !GetAtt a.b → {"Fn::GetAtt": [a, b]}, !Sub → Fn::Sub …),
// so the tests see what CloudFormation sees.
func rawTemplate(t testing.TB) map[string]any {
	t.Helper()
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	v, err := fromNode(doc.Content[0])
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatal("template.yaml is not a mapping")
	}
	return m
}

func fromNode(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.AliasNode:
		return nil, fmt.Errorf("line %d: YAML aliases are not used in CloudFormation templates", n.Line)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i < len(n.Content); i += 2 {
			val, err := fromNode(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := fromNode(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	case yaml.ScalarNode:
		if strings.HasPrefix(n.Tag, "!!") || n.Tag == "" {
			if err := n.Decode(&v); err != nil {
				return nil, err
			}
			return v, nil
		}
		v = n.Value // a tagged scalar (!Ref Name) is a string argument
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v, nil
	}
	switch fn := n.Tag[1:]; fn {
	case "Ref", "Condition":
		return map[string]any{fn: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	default:
		return map[string]any{"Fn::" + fn: v}, nil
	}
}

// noValue stands for AWS::NoValue: the property is dropped.
type noValue struct{}

// deployment is the template as CloudFormation would create it for one set of parameter values:
// intrinsic functions evaluated, conditions decided, SAM Globals merged into the functions.
// References to resources cannot be resolved without AWS, so they stay as "ref:Name" and
// "getatt:Name.Attr" strings that tests compare against.
type deployment struct {
	Parameters map[string]any // name → string or []string (CommaDelimitedList)
	Conditions map[string]bool
	Resources  map[string]map[string]any // logical id → rendered resource
	Outputs    map[string]any
	// FailedRules names the template's Rules whose assertions fail: CloudFormation would refuse
	// to create the stack.
	FailedRules []string
}

// pseudo holds stand-ins for the pseudo parameters a real stack would have.
var pseudo = map[string]string{
	"AWS::AccountId": "123456789012",
	"AWS::Region":    "ap-northeast-2",
	"AWS::Partition": "aws",
	"AWS::URLSuffix": "amazonaws.com",
	"AWS::StackName": "medicpx",
}

// deploy renders the template with the given parameter values on top of its defaults. A parameter
// without a default and not given fails the test, as CloudFormation would fail the deployment.
func deploy(t testing.TB, raw map[string]any, given map[string]string) *deployment {
	t.Helper()
	d := &deployment{Parameters: map[string]any{}, Conditions: map[string]bool{}, Resources: map[string]map[string]any{}}
	params, _ := raw["Parameters"].(map[string]any)
	for name, p := range params {
		decl := p.(map[string]any)
		val, ok := given[name]
		if !ok {
			def, hasDefault := decl["Default"]
			if !hasDefault {
				t.Fatalf("parameter %s has no default and was not given", name)
			}
			val = fmt.Sprint(def)
		}
		if allowed, ok := decl["AllowedValues"].([]any); ok && !slices.ContainsFunc(allowed, func(a any) bool { return fmt.Sprint(a) == val }) {
			t.Fatalf("parameter %s: %q is not among AllowedValues", name, val)
		}
		if pat, ok := decl["AllowedPattern"].(string); ok && !regexp.MustCompile(pat).MatchString(val) {
			t.Fatalf("parameter %s: %q does not match AllowedPattern %s", name, val, pat)
		}
		if decl["Type"] == "CommaDelimitedList" {
			d.Parameters[name] = strings.Split(val, ",")
		} else {
			d.Parameters[name] = val
		}
	}
	for name := range given {
		if _, ok := params[name]; !ok {
			t.Fatalf("no parameter %s in the template", name)
		}
	}
	resources, _ := raw["Resources"].(map[string]any)
	e := &evaluator{d: d, resources: resources, conditions: mapOf(raw["Conditions"])}
	for name := range e.conditions {
		d.Conditions[name] = e.condition(name)
	}
	globals := mapOf(mapOf(raw["Globals"])["Function"])
	for name, r := range resources {
		res := mapOf(r)
		if c, ok := res["Condition"].(string); ok && !e.condition(c) {
			continue
		}
		if res["Type"] == "AWS::Serverless::Function" {
			res = mergeGlobals(globals, res)
		}
		out, _ := e.eval(res).(map[string]any)
		d.Resources[name] = out
	}
	d.Outputs, _ = e.eval(raw["Outputs"]).(map[string]any)
	for name, rule := range mapOf(raw["Rules"]) {
		for _, a := range mapOf(rule)["Assertions"].([]any) {
			if !e.truth(mapOf(a)["Assert"]) {
				d.FailedRules = append(d.FailedRules, name)
			}
		}
	}
	if e.err != nil {
		t.Fatalf("evaluating template.yaml: %v", e.err)
	}
	return d
}

// mergeGlobals applies SAM's Globals.Function: maps merge (the function's keys win), other
// values apply only where the function has none.
func mergeGlobals(globals, res map[string]any) map[string]any {
	props := mapOf(res["Properties"])
	merged := mergeMaps(globals, props)
	out := map[string]any{}
	for k, v := range res {
		out[k] = v
	}
	out["Properties"] = merged
	return out
}

func mergeMaps(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bm, bok := out[k].(map[string]any)
		om, ook := v.(map[string]any)
		if bok && ook && !isIntrinsic(om) {
			out[k] = mergeMaps(bm, om)
			continue
		}
		out[k] = v
	}
	return out
}

func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

type evaluator struct {
	d          *deployment
	resources  map[string]any
	conditions map[string]any
	err        error
}

func (e *evaluator) fail(format string, args ...any) any {
	if e.err == nil {
		e.err = fmt.Errorf(format, args...)
	}
	return nil
}

func (e *evaluator) eval(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if isIntrinsic(v) {
			for fn, arg := range v {
				return e.intrinsic(fn, arg)
			}
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			if r := e.eval(x); r != (noValue{}) {
				out[k] = r
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(v))
		for _, x := range v {
			if r := e.eval(x); r != (noValue{}) {
				out = append(out, r)
			}
		}
		return out
	default:
		return v
	}
}

func (e *evaluator) intrinsic(fn string, arg any) any {
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		return e.ref(name)
	case "Fn::GetAtt":
		parts, _ := arg.([]any)
		if len(parts) != 2 {
			return e.fail("Fn::GetAtt %v: want [resource, attribute]", arg)
		}
		if _, ok := e.resources[fmt.Sprint(parts[0])]; !ok {
			return e.fail("Fn::GetAtt of unknown resource %v", parts[0])
		}
		return fmt.Sprintf("getatt:%v.%v", parts[0], parts[1])
	case "Fn::If":
		args, _ := arg.([]any)
		if len(args) != 3 {
			return e.fail("Fn::If %v: want [condition, then, else]", arg)
		}
		if e.condition(fmt.Sprint(args[0])) {
			return e.eval(args[1])
		}
		return e.eval(args[2])
	case "Fn::Sub":
		return e.sub(arg)
	case "Fn::Join":
		args, _ := arg.([]any)
		if len(args) != 2 {
			return e.fail("Fn::Join %v: want [delimiter, list]", arg)
		}
		list, ok := e.eval(args[1]).([]any)
		if !ok {
			return e.fail("Fn::Join %v: the second argument is not a list", arg)
		}
		parts := make([]string, len(list))
		for i, x := range list {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, fmt.Sprint(args[0]))
	case "Fn::Split":
		args, _ := arg.([]any)
		if len(args) != 2 {
			return e.fail("Fn::Split %v: want [delimiter, string]", arg)
		}
		var out []any
		for _, p := range strings.Split(fmt.Sprint(e.eval(args[1])), fmt.Sprint(args[0])) {
			out = append(out, p)
		}
		return out
	case "Fn::Select":
		args, _ := arg.([]any)
		if len(args) != 2 {
			return e.fail("Fn::Select %v: want [index, list]", arg)
		}
		var i int
		list, _ := e.eval(args[1]).([]any)
		if _, err := fmt.Sscan(fmt.Sprint(e.eval(args[0])), &i); err != nil || i < 0 || i >= len(list) {
			return e.fail("Fn::Select %v: index out of range", arg)
		}
		return list[i]
	default:
		return e.fail("%s is not understood by this test's evaluator; teach it or avoid the function", fn)
	}
}

func (e *evaluator) ref(name string) any {
	if name == "AWS::NoValue" {
		return noValue{}
	}
	if v, ok := pseudo[name]; ok {
		return v
	}
	if v, ok := e.d.Parameters[name]; ok {
		if list, ok := v.([]string); ok {
			out := make([]any, len(list))
			for i, s := range list {
				out[i] = s
			}
			return out
		}
		return v
	}
	if _, ok := e.resources[name]; ok {
		return "ref:" + name
	}
	return e.fail("Ref to unknown name %q", name)
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (e *evaluator) sub(arg any) any {
	format, vars := "", map[string]any{}
	switch a := arg.(type) {
	case string:
		format = a
	case []any:
		if len(a) != 2 {
			return e.fail("Fn::Sub %v: want [format, variables]", arg)
		}
		format, _ = a[0].(string)
		for k, v := range mapOf(a[1]) {
			vars[k] = e.eval(v)
		}
	}
	return subVar.ReplaceAllStringFunc(format, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		if v, ok := vars[name]; ok {
			return fmt.Sprint(v)
		}
		if res, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			return fmt.Sprint(e.intrinsic("Fn::GetAtt", []any{res, attr}))
		}
		return fmt.Sprint(e.ref(name))
	})
}

func (e *evaluator) condition(name string) bool {
	c, ok := e.conditions[name]
	if !ok {
		e.fail("unknown condition %q", name)
		return false
	}
	return e.truth(c)
}

func (e *evaluator) truth(v any) bool {
	m := mapOf(v)
	if !isIntrinsic(m) {
		e.fail("condition %v is not a condition function", v)
		return false
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			return e.condition(fmt.Sprint(arg))
		case "Fn::Not":
			return len(args) == 1 && !e.truth(args[0])
		case "Fn::And":
			for _, a := range args {
				if !e.truth(a) {
					return false
				}
			}
			return true
		case "Fn::Or":
			for _, a := range args {
				if e.truth(a) {
					return true
				}
			}
			return false
		case "Fn::Equals":
			if len(args) != 2 {
				e.fail("Fn::Equals %v: want two values", arg)
				return false
			}
			return fmt.Sprint(e.eval(args[0])) == fmt.Sprint(e.eval(args[1]))
		}
	}
	e.fail("condition function %v is not understood", v)
	return false
}

// path walks nested maps and slices by key or index ("Properties.Events.Upload", "Rules.0").
func path(v any, p string) any {
	for _, part := range strings.Split(p, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			var i int
			if _, err := fmt.Sscan(part, &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// strs turns a YAML list (or a single string, as IAM allows) into []string.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, s := range x {
			out = append(out, fmt.Sprint(s))
		}
		return out
	}
	return nil
}
