package lindung

import (
	"fmt"
	"strings"
)

// Category is a data category: the unit in which consent is given and policy decides. Every field that
// carries victim data belongs to exactly one.
type Category uint8

// The data categories. The order fixes each category's bit in a CategorySet; append, never reorder.
const (
	Identity Category = iota
	Contact
	Demographic
	Case
	Location
	Health
	Counselling
	Legal
	Family
	Employment
	numCategories
)

var categoryNames = [numCategories]string{
	"IDENTITY", "CONTACT", "DEMOGRAPHIC", "CASE", "LOCATION",
	"HEALTH", "COUNSELLING", "LEGAL", "FAMILY", "EMPLOYMENT",
}

// Categories lists every data category in bit order.
func Categories() []Category {
	out := make([]Category, numCategories)
	for i := range out {
		out[i] = Category(i)
	}
	return out
}

// String returns the category's name as the schema and the policy spell it.
func (c Category) String() string {
	if c < numCategories {
		return categoryNames[c]
	}
	return fmt.Sprintf("Category(%d)", uint8(c))
}

// ParseCategory returns the category with the given name.
func ParseCategory(name string) (Category, error) {
	for i, n := range categoryNames {
		if n == name {
			return Category(i), nil
		}
	}
	return 0, Errorf(EINVALID, "unknown data category %q", name)
}

// CategorySet is a set of categories as a bit mask, so that guarding a field is one bit test.
type CategorySet uint16

// AllCategories is the set of every category.
const AllCategories CategorySet = 1<<numCategories - 1

// SetOf returns the set holding the given categories.
func SetOf(cs ...Category) CategorySet {
	var s CategorySet
	for _, c := range cs {
		s |= 1 << c
	}
	return s
}

// Has reports whether c is in the set.
func (s CategorySet) Has(c Category) bool { return s&(1<<c) != 0 }

// List returns the categories in the set, in bit order.
func (s CategorySet) List() []Category {
	var out []Category
	for c := Category(0); c < numCategories; c++ {
		if s.Has(c) {
			out = append(out, c)
		}
	}
	return out
}

// Names returns the names of the categories in the set, in bit order.
func (s CategorySet) Names() []string {
	var out []string
	for _, c := range s.List() {
		out = append(out, c.String())
	}
	return out
}

// String returns the names joined by "|", for logs and tests.
func (s CategorySet) String() string { return strings.Join(s.Names(), "|") }

// ParseCategorySet returns the set of the named categories.
func ParseCategorySet(names []string) (CategorySet, error) {
	var s CategorySet
	for _, n := range names {
		c, err := ParseCategory(n)
		if err != nil {
			return 0, err
		}
		s |= 1 << c
	}
	return s, nil
}
